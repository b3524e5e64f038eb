/** Member ids sorted and without duplicates: the one input normalization every allocation strategy shares. */
export function sortedMembers(clientIds: readonly string[]): string[] {
  return [...new Set(clientIds)].sort();
}
