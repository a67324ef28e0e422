// PLACEHOLDER (replaced by the owner of data-plane/declarative): validates a kong.yml-style file.
// Contract used by `silverback config validate FILE`: resolve (optionally with per-entity counts)
// when valid; throw an Error whose message explains every problem when not.
export async function validateDeclarativeFile(path: string): Promise<{ counts?: Record<string, number> }> {
  throw new Error(`declarative validation is not implemented yet (${path})`);
}
