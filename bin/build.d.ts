/** True when dist/ holds a complete build at least as new as every source. */
export function isBuilt(): boolean;
/** Builds dist/ (under a lock, replaced whole) unless it is up to date, or always with `force`. */
export function ensureBuilt(options?: { force?: boolean }): void;
