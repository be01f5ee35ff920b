#!/usr/bin/env bash
# Test: `meson install` into a DESTDIR puts every piece where a node expects
# it (README.md, "Install on a node"): the binaries, the CNI plugin and its
# conflist, the node config and podlaned's systemd unit. The installed
# podlaned accepts the installed config (--check-config), the conflist is
# JSON naming podlane-cni, and the unit passes `systemd-analyze verify`
# with no complaint at all (warnings are failures here).
#
# systemd-analyze verify in a container without systemd as PID 1 works
# offline, but with --root=DESTDIR it finds none of the machine's targets
# (sysinit.target, multi-user.target), so it is run on a copy of the unit
# whose executables point into DESTDIR: directives, dependencies and
# executables are all checked against the real machine's systemd 252.
set -euo pipefail
BUILD=$(realpath "$1")
TMP=$(mktemp -d /tmp/podlane-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing: run scripts/install-deps.sh (systemd)"

opt() { meson introspect "$BUILD" --buildoptions | jq -r --arg n "$1" '.[] | select(.name == $n) | .value'; }
PREFIX=$(opt prefix) BINDIR=$(opt bindir) CNI_BIN=$(opt cni_bin_dir) CNI_CONF=$(opt cni_conf_dir)
CONF_DIR=$(opt podlane_conf_dir) UNIT_DIR=$(opt systemd_unit_dir)
[ -n "$UNIT_DIR" ] || UNIT_DIR=$PREFIX/lib/systemd/system
case $BINDIR in /*) ;; *) BINDIR=$PREFIX/$BINDIR ;; esac

D=$TMP/root
log "meson install --destdir $D"
meson install -C "$BUILD" --destdir "$D" --no-rebuild > "$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "meson install failed"; }
(cd "$D" && find . -type f -o -type l | sed 's|^\.||' | sort) | tee "$TMP/files"
want=("$BINDIR/podlaned" "$BINDIR/podlane" "$CNI_BIN/podlane-cni" "$CNI_CONF/05-podlane.conflist"
      "$CONF_DIR/podlane.yaml" "$UNIT_DIR/podlaned.service")
printf '%s\n' "${want[@]}" | sort > "$TMP/want"
diff -u "$TMP/want" "$TMP/files" || fail "the installed files are not exactly the expected ones"
[ "$CNI_BIN" = /opt/cni/bin ] && [ "$CNI_CONF" = /etc/cni/net.d ] && [ "$CONF_DIR" = /etc/podlane ] \
  || fail "not the standard places: $CNI_BIN $CNI_CONF $CONF_DIR"
for f in "$BINDIR/podlaned" "$BINDIR/podlane" "$CNI_BIN/podlane-cni"; do
  [ -x "$D$f" ] || fail "$f is not executable"
done
for f in "$CNI_CONF/05-podlane.conflist" "$CONF_DIR/podlane.yaml" "$UNIT_DIR/podlaned.service"; do
  [ "$(stat -c %a "$D$f")" = 644 ] || fail "$f has mode $(stat -c %a "$D$f"), expected 644"
done

log "the installed pieces work together"
"$D$BINDIR/podlaned" --check-config "$D$CONF_DIR/podlane.yaml" || fail "the installed podlaned refuses the installed config"
jq -e '.plugins[0].type == "podlane-cni" and .plugins[0].socket == "/run/podlane/podlane.sock"' \
  "$D$CNI_CONF/05-podlane.conflist" >/dev/null || fail "the conflist does not name podlane-cni on /run/podlane/podlane.sock"
grep -q "socket: /run/podlane/podlane.sock" "$D$CONF_DIR/podlane.yaml" || fail "the config's api.socket is not the conflist's"
echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION "$D$CNI_BIN/podlane-cni" | jq -e '.supportedVersions | index("1.1.0")' >/dev/null \
  || fail "the installed podlane-cni does not answer VERSION"
unit=$D$UNIT_DIR/podlaned.service
grep -qx "ExecStart=$BINDIR/podlaned --config $CONF_DIR/podlane.yaml" "$unit" || fail "ExecStart: $(grep ExecStart= "$unit")"
grep -qx "RuntimeDirectoryPreserve=yes" "$unit" || fail "the unit would drop /run/podlane (pending DELs) on restart"

log "systemd-analyze verify ($(systemd-analyze --version | head -1))"
mkdir "$TMP/verify"
sed "s|$BINDIR/|$D$BINDIR/|g" "$unit" > "$TMP/verify/podlaned.service"
rc=0; systemd-analyze verify "$TMP/verify/podlaned.service" > "$TMP/verify.log" 2>&1 || rc=$?
cat "$TMP/verify.log"
[ "$rc" = 0 ] && [ ! -s "$TMP/verify.log" ] || fail "systemd-analyze verify: rc $rc, output above"
# The check is not blind: a bad directive is reported.
sed 's/^Type=simple/Type=bogus/' "$TMP/verify/podlaned.service" > "$TMP/verify/bad.service"
systemd-analyze verify "$TMP/verify/bad.service" 2>&1 | grep -q "Failed to parse service type" \
  || fail "systemd-analyze verify did not notice Type=bogus"
log "PASS"
