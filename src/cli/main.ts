#!/usr/bin/env node
import { commandList as commands } from './command-list.js';
import { runCommand, type Io } from './command.js';

function topHelp(): string {
  return [
    'gouvernail: GitOps for plain Docker hosts',
    '',
    'Usage: gouvernail COMMAND [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(12)}${c.summary}`),
    '',
    "Run 'gouvernail COMMAND --help' for a command's options.",
  ].join('\n');
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name ? 0 : 2;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.err(`gouvernail: unknown command ${JSON.stringify(name)}\n\n${topHelp()}`);
    return 2;
  }
  return runCommand(await cmd.load(), cmd.summary, rest, io);
}

const io: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`gouvernail: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  },
);
