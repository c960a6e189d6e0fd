#!/usr/bin/env bash
# Checks that package-lock.json is complete: in a scratch copy of package.json and the lock,
# `npm install` on a fresh tree, `npm ci`, and `npm install` over that tree must all leave the
# lock byte for byte as it is (what `git status` would show on a fresh clone). Packages come
# from the npm cache when they are there. Exit code 1 and a diff when the lock would change.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/express-oxd-lock-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
cp "$root/package.json" "$root/package-lock.json" "$scratch/"
cd "$scratch"
npm_flags=(--no-audit --no-fund --ignore-scripts --prefer-offline --loglevel=error)

same_lock() {
  if ! cmp -s package-lock.json "$root/package-lock.json"; then
    echo "package-lock.json is incomplete: $1 rewrites it:" >&2
    diff -u "$root/package-lock.json" package-lock.json | head -60 >&2 || true
    echo "Regenerate it as docs/development.md (The lock file) says." >&2
    exit 1
  fi
}

npm install "${npm_flags[@]}" >/dev/null
same_lock "npm install on a fresh clone"
rm -rf node_modules
npm ci "${npm_flags[@]}" >/dev/null
same_lock "npm ci"
npm install "${npm_flags[@]}" >/dev/null
same_lock "npm install after npm ci"
echo "package-lock.json is complete: npm install and npm ci leave it unchanged."
