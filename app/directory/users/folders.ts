import type { Db } from '../../db.js';
import { isSqlite } from '../../db.js';

export interface Folder {
  name: string;
  path: string;
  children: Folder[];
}

/**
 * The distinct paths by a loose index scan, so the cost follows the number of folders, not of
 * users. MariaDB does that for DISTINCT on the (path, username) index by itself ("index for
 * group-by"); SQLite gets a recursive query that seeks the next path on the index at each step
 * (MariaDB, in turn, would scan the index at each step of that one).
 */
export async function folderPaths(db: Db): Promise<string[]> {
  if (!isSqlite(db)) return db('users').distinct('path').orderBy('path').pluck('path');
  const result = await db.raw(`with recursive folders(path) as (
      select min(path) from users
      union all
      select (select min(u.path) from users u where u.path > folders.path) from folders where folders.path is not null
    ) select path from folders where path is not null`);
  return (result as { path: string }[]).map((r) => r.path);
}

/** The folder tree of the folders users are in (folderPaths): every path and each of its prefixes. */
export function folderTree(paths: string[]): Folder[] {
  const rows = paths.map((path) => ({ path }));
  const root: Folder = { name: '', path: '', children: [] };
  for (const { path } of rows) {
    let node = root;
    for (const [i, segment] of path.split('/').entries()) {
      let child = node.children.find((c) => c.name === segment);
      if (!child) {
        child = {
          name: segment,
          path: path
            .split('/')
            .slice(0, i + 1)
            .join('/'),
          children: [],
        };
        node.children.push(child);
      }
      node = child;
    }
  }
  return root.children;
}
