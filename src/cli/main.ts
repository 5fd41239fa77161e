#!/usr/bin/env node
import { applyCommand, deleteCommand } from './commands/apply.js';
import { appCommand } from './commands/app.js';
import { webhooksCommand } from './commands/webhooks.js';
import { tokenCommand } from './commands/token.js';
import { encryptionCommand } from './commands/encryption.js';
import { backupCommand, restoreCommand } from './commands/backup.js';
import { certCommand } from './commands/cert.js';
import { diffCommand } from './commands/diff.js';
import { serveCommand } from './commands/serve.js';
import { describeCommand, execCommand, getCommand, logsCommand, rolloutCommand, runPodCommand, scaleCommand } from './commands/kube.js';
import { planCommand } from './commands/plan.js';
import { nodeCommand } from './commands/node.js';
import { validateCommand } from './commands/validate.js';
import { runCommand, type Command, type Io } from './command.js';

const commands: Command[] = [serveCommand, validateCommand, planCommand, diffCommand, applyCommand, deleteCommand, getCommand, describeCommand, logsCommand, execCommand, runPodCommand, scaleCommand, rolloutCommand, appCommand, nodeCommand, webhooksCommand, tokenCommand, certCommand, encryptionCommand, backupCommand, restoreCommand];

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
  return runCommand(cmd, rest, io);
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
