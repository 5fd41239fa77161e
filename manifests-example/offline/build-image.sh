#!/usr/bin/env bash
# Builds the image this example runs, with no registry: a root filesystem holding Debian's
# busybox-static (sh, httpd, wget, sleep ...), imported into the local Docker engine.
set -euo pipefail
image="${1:-gouvernail-example/busybox:1}"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image is already there"
  exit 0
fi
busybox="$(command -v busybox || true)"
if [ -z "$busybox" ]; then
  echo "busybox is not installed: apt-get install -y busybox-static" >&2
  exit 1
fi
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/www"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
echo 'root:x:0:' > "$rootfs/etc/group"
tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$image" >/dev/null
echo "built $image"
