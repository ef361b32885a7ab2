#!/usr/bin/env bash
# Makes AWS DynamoDB Local available offline for tests and benches, from the npm registry:
# `npm pack amplify-dynamodb-simulator@2.9.30` ships DynamoDBLocal.jar + DynamoDBLocal_lib/ in
# package/emulator/. Only that folder is kept, in .cache/dynamodb-local/ (git-ignored).
#
#   scripts/fetch-dynamodb-local.sh        # idempotent: does nothing when the jar is already there
#
# Needs Java 17 to run the jar (checked here so a fresh machine fails early with the fix).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST="${DYNAMODB_LOCAL_DIR:-$ROOT/.cache/dynamodb-local}"
PKG="amplify-dynamodb-simulator@2.9.30"

if ! command -v java >/dev/null 2>&1; then
  echo "java not found: DynamoDB Local needs Java 17. Install it with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends openjdk-17-jre-headless" >&2
  exit 1
fi

if [ -f "$DEST/DynamoDBLocal.jar" ] && [ -d "$DEST/DynamoDBLocal_lib" ]; then
  echo "DynamoDB Local already in $DEST"
  exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "Fetching $PKG (~56 MB) ..."
(cd "$TMP" && npm pack "$PKG" --silent >/dev/null)
TARBALL=$(ls "$TMP"/*.tgz)
mkdir -p "$TMP/x"
tar -xzf "$TARBALL" -C "$TMP/x" package/emulator
if [ ! -f "$TMP/x/package/emulator/DynamoDBLocal.jar" ]; then
  echo "DynamoDBLocal.jar not found in $PKG (package layout changed?)" >&2
  exit 1
fi

# Move into place in one step so a killed run never leaves a half-extracted folder behind.
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.partial"
mv "$TMP/x/package/emulator" "$DEST.partial"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
echo "DynamoDB Local ready in $DEST"
