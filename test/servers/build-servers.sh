#!/usr/bin/env bash
# Builds the test servers once into a cache outside the checkout, so a fresh clone on the same
# machine reuses them. Go is used only here; no server code is copied into the project.
#   MinIO    — the S3-compatible server users named, at a pinned module version.
#   FerretDB — an independent MongoDB-wire server (SQLite backend) with a real local.oplog.rs.
# Usage: build-servers.sh [minio|ferretdb]...   (default: both). Prints "<name>=<binary>" lines.
set -euo pipefail

MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
FERRETDB_VERSION="v1.24.2"

CACHE="${MONGO_PITR_CACHE:-$HOME/.cache/mongo-pitr}"
BIN="$CACHE/bin"
mkdir -p "$BIN"
export PATH="$PATH:/usr/local/go/bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

need_go() {
  command -v go >/dev/null 2>&1 || { echo "build-servers: Go is needed to build $1 (or give TEST_MONGODB_URI and TEST_S3_ENDPOINT)" >&2; exit 3; }
}

build_minio() {
  local out="$BIN/minio-$MINIO_VERSION"
  echo "minio=$out"
  [ -x "$out" ] && return 0
  need_go MinIO
  echo "build-servers: building MinIO $MINIO_VERSION (first run on this machine only)" >&2
  local gobin; gobin="$(mktemp -d)"
  GOBIN="$gobin" CGO_ENABLED=0 go install "github.com/minio/minio@$MINIO_VERSION" >&2
  mv "$gobin/minio" "$out"
  rm -rf "$gobin"
}

build_ferretdb() {
  local out="$BIN/ferretdb-$FERRETDB_VERSION"
  echo "ferretdb=$out"
  [ -x "$out" ] && return 0
  need_go FerretDB
  echo "build-servers: building FerretDB $FERRETDB_VERSION (first run on this machine only)" >&2
  # A plain `go install` panics at start-up: build/version/version.txt is generated, not in the
  # module. FerretDB's documented alternative: build from a copy of the module with it written.
  local dir src work
  dir="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  work="$(mktemp -d)"
  cp -r "$dir" "$work/src"
  chmod -R u+w "$work/src"
  src="$work/src"
  printf '%s' "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  (cd "$src" && CGO_ENABLED=0 go build -o "$out.tmp" ./cmd/ferretdb >&2)
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(minio ferretdb)
for t in "${targets[@]}"; do
  case "$t" in
    minio) build_minio ;;
    ferretdb) build_ferretdb ;;
    *) echo "build-servers: unknown server '$t'" >&2; exit 2 ;;
  esac
done
