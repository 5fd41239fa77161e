/** Rethrows a Docker error unless it has the status the caller expects (gone, conflict, unchanged). */
export function ignore404(err: { statusCode?: number }): void {
  if (err.statusCode !== 404) throw err;
}

export function ignore409(err: { statusCode?: number }): void {
  if (err.statusCode !== 409) throw err;
}

export function ignore304(err: { statusCode?: number }): void {
  if (err.statusCode !== 304) throw err;
}
