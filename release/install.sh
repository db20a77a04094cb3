#!/bin/bash
# Installs a motcua-lobby release bundle on a box (Raspberry Pi OS 64-bit, or any systemd Linux).
#
#   sudo ./install.sh                      # the bundle next to this script for this machine's platform
#   sudo ./install.sh motcua-lobby-0.1.0-linux-arm64.manifest.json
#   ./install.sh --root /tmp/pi --no-systemd ...   # into a folder instead of / (tests, images)
#
# Steps, in order: verify (signature, platform, size, SHA-256: before anything is unpacked), user, dirs,
# unpack (into a hidden folder, renamed to /opt/motcua-lobby/<version> when complete), key and systemd
# units, switch (the `current` symlink, replaced in one rename), prune (versions older than current and
# previous), start. Running it again is harmless. When a step fails it says which, and what state it left;
# nothing before `switch` changes the running version.
set -Eeuo pipefail

RELEASE_KEY_PEM='@RELEASE_KEY_PEM@'

ROOT=''
SYSTEMD=1
REPLACE=0
PUBKEY=''
PLATFORM=''
MANIFEST=''
usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  echo 'Options: --root DIR, --no-systemd, --pubkey FILE (instead of the key written into this script),'
  echo '         --platform linux-arm64|linux-x64 (default: this machine), --replace (reinstall a version'
  echo '         that was installed from another bundle), -h'
}
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT="${2%/}"; shift 2 ;;
    --no-systemd) SYSTEMD=0; shift ;;
    --pubkey) PUBKEY="$2"; shift 2 ;;
    --platform) PLATFORM="$2"; shift 2 ;;
    --replace) REPLACE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) MANIFEST="$1"; shift ;;
  esac
done
if [ -z "$PLATFORM" ]; then
  case "$(uname -m)" in
    aarch64|arm64) PLATFORM=linux-arm64 ;;
    x86_64|amd64) PLATFORM=linux-x64 ;;
    *) PLATFORM="linux-$(uname -m)" ;;
  esac
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -z "$MANIFEST" ]; then
  set -- "$HERE"/motcua-lobby-*-"$PLATFORM".manifest.json
  if [ ! -e "$1" ]; then echo "install.sh: no bundle for $PLATFORM next to $0" >&2; exit 2; fi
  if [ $# -gt 1 ]; then echo "install.sh: several bundles for $PLATFORM here; name one: $*" >&2; exit 2; fi
  MANIFEST="$1"
fi

OPT="$ROOT/opt/motcua-lobby"
DATA="$ROOT/var/lib/motcua-lobby"
ETC="$ROOT/etc/motcua-lobby"
UNITS="$ROOT/etc/systemd/system"
STEP='start'
VERSION=''
PREVIOUS=''
SWITCHED=0
TMP="$(mktemp -d)"
PARTIAL=''

say() { echo "install: $*"; }
current_of() { readlink "$OPT/current" 2>/dev/null || echo 'none'; }
on_error() {
  local rc=$?
  trap - ERR
  [ -n "$PARTIAL" ] && rm -rf "$PARTIAL"
  {
    echo "install: FAILED at step '$STEP' (exit $rc, line ${BASH_LINENO[0]}: $BASH_COMMAND)."
    echo "install: state left:"
    if [ "$SWITCHED" = 1 ]; then
      echo "  - current -> $(current_of) (switched from ${PREVIOUS:-none}); the new version is installed"
    else
      echo "  - current -> $(current_of) (unchanged: the running version, if any, is untouched)"
    fi
    if [ -n "$VERSION" ] && [ -d "$OPT/$VERSION" ]; then
      echo "  - $OPT/$VERSION is unpacked and complete"
    elif [ -n "$VERSION" ]; then
      echo "  - $OPT/$VERSION is not there (partial files removed)"
    fi
    echo "install: fix the cause above and run the same command again (it is safe to repeat)."
  } >&2
  rm -rf "$TMP"
  exit "$rc"
}
trap on_error ERR
trap 'rm -rf "$TMP"' EXIT
refuse() {
  trap - ERR
  echo "install: REFUSED at step '$STEP': $*" >&2
  echo "install: nothing was unpacked or changed." >&2
  exit 1
}

# --- verify: the same checks as device/release/verify.ts, with openssl and coreutils -------------------
STEP='verify'
SIGFILE="${MANIFEST%.json}.sig"
[ -r "$MANIFEST" ] || refuse "cannot read the manifest $MANIFEST"
[ -r "$SIGFILE" ] || refuse "cannot read the signature $SIGFILE"
if [ -n "$PUBKEY" ]; then cp "$PUBKEY" "$TMP/key.pem"; else printf '%s\n' "$RELEASE_KEY_PEM" >"$TMP/key.pem"; fi
command -v openssl >/dev/null || refuse 'openssl is needed to check the signature (apt install openssl)'
base64 -d "$SIGFILE" >"$TMP/sig" 2>/dev/null || refuse "the signature file $SIGFILE is not base64"
openssl pkeyutl -verify -pubin -inkey "$TMP/key.pem" -rawin -in "$MANIFEST" -sigfile "$TMP/sig" >/dev/null 2>&1 ||
  refuse "the manifest's signature does not match the release key: the bundle was changed after signing or was signed by another key"
# The manifest's bytes are signed (checked above) and written by release/bundle.ts: one field a line.
field() { sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$MANIFEST"; }
VERSION_M="$(field version)"
PLATFORM_M="$(field platform)"
FILE_M="$(field file)"
SIZE_M="$(field size)"
SHA_M="$(field sha256)"
case "$FILE_M" in '' | */* | .*) refuse "the manifest names no plain tarball file ('$FILE_M')" ;; esac
case "$VERSION_M" in '' | */* | .*) refuse "the manifest's version '$VERSION_M' is not a folder name" ;; esac
[ "$PLATFORM_M" = "$PLATFORM" ] || refuse "the bundle is for $PLATFORM_M, this box is $PLATFORM"
TARBALL="$(dirname "$MANIFEST")/$FILE_M"
[ -r "$TARBALL" ] || refuse "the tarball $TARBALL named by the manifest is missing"
SIZE="$(stat -c %s "$TARBALL")"
if [ "$SIZE" != "$SIZE_M" ]; then
  refuse "the tarball has $SIZE bytes, the manifest says $SIZE_M (truncated: an interrupted copy?)"
fi
SHA="$(sha256sum "$TARBALL" | cut -d' ' -f1)"
[ "$SHA" = "$SHA_M" ] || refuse "the tarball's SHA-256 is $SHA, the manifest says $SHA_M"
VERSION="$VERSION_M"
say "verified $FILE_M: version $VERSION for $PLATFORM, signed by the release key"

# --- user -----------------------------------------------------------------------------------------------
STEP='user'
OWNER=''
if [ -n "$ROOT" ]; then
  say "--root: no service user created, files stay owned by $(id -un)"
elif id lobby >/dev/null 2>&1; then
  say 'service user lobby exists'
  OWNER='lobby:lobby'
else
  useradd --system --home-dir /var/lib/motcua-lobby --no-create-home --shell /usr/sbin/nologin lobby
  for g in dialout gpio audio; do getent group "$g" >/dev/null && usermod -aG "$g" lobby; done
  say 'created service user lobby (groups dialout gpio audio where present)'
  OWNER='lobby:lobby'
fi

# --- dirs -----------------------------------------------------------------------------------------------
STEP='dirs'
install -d -m 0755 "$OPT"
install -d -m 0700 "$DATA"
install -d -m 0750 "$ETC"
chmod 0700 "$DATA"
# The box's user owns the versions' folder and the versions in it, as it owns those its over-the-air update
# agent unpacks next to the running one: the agent moves `current` and removes versions older than
# `previous` after a commit (device/update/README.md). A root-owned version would stay on the SD card for
# good once updates moved past it; owning its program files gives the box nothing it could not already do
# by unpacking a version of its own (the signature check before unpacking is what keeps foreign code out).
if [ -n "$OWNER" ]; then chown "$OWNER" "$DATA" "$ETC" "$OPT"; fi

# --- unpack ---------------------------------------------------------------------------------------------
STEP='unpack'
TARGET="$OPT/$VERSION"
installed_sha() { field_of="$(sed -n 's/^  "sha256": "\([0-9a-f]*\)",\{0,1\}$/\1/p' "$TARGET/manifest.json" 2>/dev/null)"; echo "$field_of"; }
if [ -d "$TARGET" ] && [ "$(installed_sha)" = "$SHA" ]; then
  say "$TARGET is already unpacked from this bundle: kept"
else
  if [ -d "$TARGET" ] && [ "$REPLACE" != 1 ]; then
    refuse "$TARGET holds version $VERSION from another bundle; bump the version, or run again with --replace"
  fi
  PARTIAL="$OPT/.partial-$VERSION-$$"
  mkdir -m 0755 "$PARTIAL"
  tar -xzf "$TARBALL" -C "$PARTIAL" --no-same-owner
  cp "$MANIFEST" "$PARTIAL/manifest.json"
  cp "$SIGFILE" "$PARTIAL/manifest.sig"
  sync -f "$PARTIAL" 2>/dev/null || sync
  if [ -d "$TARGET" ]; then
    mv -T "$TARGET" "$OPT/.replaced-$VERSION-$$"
    mv -T "$PARTIAL" "$TARGET"
    rm -rf "$OPT/.replaced-$VERSION-$$"
  else
    mv -T "$PARTIAL" "$TARGET"
  fi
  PARTIAL=''
  say "unpacked into $TARGET"
fi
if [ -n "$OWNER" ]; then chown -R "$OWNER" "$TARGET"; fi

# --- key and units --------------------------------------------------------------------------------------
STEP='units'
install -m 0644 "$TMP/key.pem" "$ETC/release-key.pub.pem"
[ -f "$ETC/office.example.yaml" ] || install -m 0640 "$TARGET/config/office.example.yaml" "$ETC/office.example.yaml"
install -d -m 0755 "$UNITS"
for unit in motcua-lobby.service; do
  install -m 0644 "$TARGET/deploy/$unit" "$UNITS/.$unit.new"
  mv -f "$UNITS/.$unit.new" "$UNITS/$unit"
done
# The launcher systemd runs (rolls back a new version that fails its trial); outside every version, root's.
if [ -f "$TARGET/deploy/lobby-launch.sh" ]; then
  install -d -m 0755 "$ROOT/usr/local/lib/motcua-lobby"
  install -m 0755 "$TARGET/deploy/lobby-launch.sh" "$ROOT/usr/local/lib/motcua-lobby/.lobby-launch.new"
  mv -f "$ROOT/usr/local/lib/motcua-lobby/.lobby-launch.new" "$ROOT/usr/local/lib/motcua-lobby/lobby-launch"
fi
install -d -m 0755 "$ROOT/usr/local/bin"
ln -sfn /opt/motcua-lobby/current/bin/lobby "$ROOT/usr/local/bin/lobby"
say "installed the release key, $UNITS/motcua-lobby.service, the launcher and /usr/local/bin/lobby"

# --- switch ---------------------------------------------------------------------------------------------
STEP='switch'
PREVIOUS="$(readlink "$OPT/current" 2>/dev/null || true)"
if [ "$PREVIOUS" = "$VERSION" ]; then
  say "current already points at $VERSION"
else
  ln -sfn "$VERSION" "$OPT/.current-$$"
  mv -Tf "$OPT/.current-$$" "$OPT/current"
  SWITCHED=1
  if [ -n "$PREVIOUS" ]; then ln -sfn "$PREVIOUS" "$OPT/.previous-$$" && mv -Tf "$OPT/.previous-$$" "$OPT/previous"; fi
  say "current -> $VERSION (was ${PREVIOUS:-none})"
fi

# --- prune ----------------------------------------------------------------------------------------------
# Keeps what `current` and `previous` point at (the version to go back to) and anything newer (a version the
# update agent may have unpacked and be waiting to switch to); removes the versions older than both, which
# nothing can go back to. Hidden leftovers (.partial-*) are left to their owner: the agent removes its own at
# start, and this script removes its own when a step fails.
STEP='prune'
KEEP_CURRENT="$(readlink "$OPT/current" 2>/dev/null || true)"
KEEP_PREVIOUS="$(readlink "$OPT/previous" 2>/dev/null || true)"
OLDEST_KEPT="$(printf '%s\n' "$KEEP_CURRENT" "${KEEP_PREVIOUS:-$KEEP_CURRENT}" | sort -V | head -1)"
for entry in "$OPT"/[0-9]*.[0-9]*.[0-9]*; do
  [ -d "$entry" ] && [ ! -L "$entry" ] || continue
  name="${entry##*/}"
  [ "$name" = "$KEEP_CURRENT" ] || [ "$name" = "$KEEP_PREVIOUS" ] && continue
  [ "$(printf '%s\n' "$name" "$OLDEST_KEPT" | sort -V | head -1)" = "$name" ] || continue
  rm -rf -- "$entry"
  say "removed version $name (older than current and previous: nothing goes back to it)"
done

# --- start ----------------------------------------------------------------------------------------------
STEP='start'
if [ "$SYSTEMD" = 0 ] || [ -n "$ROOT" ] || ! command -v systemctl >/dev/null; then
  say 'systemd not touched (--root, --no-systemd or no systemctl)'
else
  systemctl daemon-reload
  systemctl enable --quiet motcua-lobby.service
  systemctl restart motcua-lobby.service
  if [ -f "$ETC/office.yaml" ]; then
    say 'motcua-lobby restarted with /etc/motcua-lobby/office.yaml'
  else
    say 'no /etc/motcua-lobby/office.yaml yet: the box waits to be claimed (http://<this box>:8080/ or: lobby device claim --code …)'
  fi
fi
say "done: version $VERSION installed"
