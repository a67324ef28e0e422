// Admin API requests answered, by method and status (for the control plane's /metrics).
export const adminRequestStats = {
  /** method → status → count */
  byMethod: new Map<string, Map<number, number>>(),
  record(method: string, status: number): void {
    let m = this.byMethod.get(method);
    if (m === undefined) this.byMethod.set(method, (m = new Map()));
    m.set(status, (m.get(status) ?? 0) + 1);
  },
};
