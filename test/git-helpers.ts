import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gitHttpBackend } from '../src/sync/git-http-backend.js';
import { tempDir } from './helpers.js';

export interface GitServer {
  url(repo: string): string;
  root: string;
  close(): Promise<void>;
}

/** A real Git server: git http-backend behind a small HTTP server on 127.0.0.1. */
export async function startGitServer(options: { token?: string } = {}): Promise<GitServer> {
  const root = tempDir('gouvernail-git-');
  const server = http.createServer((req, res) => {
    if (options.token) {
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':')[1] : undefined;
      if (given !== options.token) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
        return res.end('unauthorized');
      }
    }
    gitHttpBackend(root, new URL(req.url!, 'http://x').pathname, req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    root,
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A bare repository on the server and a work clone next to it, pushed with the real git. */
export function makeRepo(server: GitServer, name: string) {
  const bare = path.join(server.root, name);
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  const work = tempDir('gouvernail-work-');
  const run = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], { cwd: work, encoding: 'utf8' }).trim();
  run('init', '-q', '-b', 'main');
  run('remote', 'add', 'origin', server.url(name));
  return {
    work,
    write(file: string, text: string) {
      mkdirSync(path.dirname(path.join(work, file)), { recursive: true });
      writeFileSync(path.join(work, file), text);
    },
    remove(file: string) {
      rmSync(path.join(work, file));
    },
    /** Commits everything and pushes (without blocking: the server may run in this process); returns the commit. */
    async commit(message: string, remote = 'origin'): Promise<string> {
      run('add', '-A');
      run('commit', '-q', '--allow-empty', '-m', message);
      await promisify(execFile)('git', ['push', '-q', remote, 'main'], { cwd: work });
      return run('rev-parse', 'HEAD');
    },
    run,
  };
}
