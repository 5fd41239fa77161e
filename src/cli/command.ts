import { parseArgs } from 'node:util';
import { GouvernailError } from '../errors.js';
import { ApiError } from '../api/errors.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  description: string;
}

/** A command; its one-line summary is in command-list.ts, which loads the command when it runs. */
export interface Command {
  name: string;
  usage: string;
  options: Record<string, OptionSpec>;
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[], io: Io): Promise<number>;
}

/** Exit codes, as kubectl diff and friends use them. */
export const exit = { ok: 0, differences: 1, invalid: 2 } as const;

export function help(cmd: Command, summary: string): string {
  const lines = [summary, '', `Usage: gouvernail ${cmd.usage}`, '', 'Options:'];
  for (const [name, o] of Object.entries(cmd.options)) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' VALUE' : ''}`;
    lines.push(flag.length >= 28 ? `  ${flag}\n  ${' '.repeat(28)}${o.description}` : `  ${flag.padEnd(28)}${o.description}`);
  }
  lines.push(`  ${'-h, --help'.padEnd(28)}show this help`);
  return lines.join('\n');
}

export async function runCommand(cmd: Command, summary: string, argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...(cmd.options as Record<string, Omit<OptionSpec, 'description'>>), help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    io.err(`gouvernail ${cmd.name}: ${(err as Error).message}\nRun 'gouvernail ${cmd.name} --help' for usage.`);
    return exit.invalid;
  }
  if (parsed.values.help) {
    io.out(help(cmd, summary));
    return exit.ok;
  }
  try {
    return await cmd.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals, io);
  } catch (err) {
    if (err instanceof GouvernailError) {
      io.err(`error: ${err.message}`);
      return exit.invalid;
    }
    if (err instanceof ApiError) {
      io.err(err.code === 0 ? `error: ${err.message}` : `Error from server (${err.reason}): ${err.message}`);
      return 1;
    }
    throw err;
  }
}

export function usageError(message: string): never {
  throw new GouvernailError('UsageError', message);
}
