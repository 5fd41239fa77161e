/**
 * Whether a Gouvernail hook stands where it must in a built-in chain (`iptables -S CHAIN`): before
 * every rule that is not a Gouvernail hook. Another installation's hooks on the same host may come
 * before it; each would otherwise take the first place from the others in turn. Pure.
 */
export function hookInPlace(listing: string, chain: string, target: string): boolean {
  const rules = listing.split('\n').filter((l) => l.startsWith('-A '));
  const ours = rules.indexOf(`-A ${chain} -j ${target}`);
  const foreign = rules.findIndex((l) => !/^-A \S+ -j GV-[A-Z]+-[0-9A-F]+$/.test(l));
  return ours >= 0 && (foreign < 0 || ours < foreign);
}
