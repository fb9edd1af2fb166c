#!/usr/bin/env bash
# The fault campaign of docs/reliability.md against the Release build of the real server.
#   bench/chaos/run-chaos.sh [SECONDS] [SEED] [more options of `bench chaos`]
# Defaults: 120 s and a random seed (printed; pass it again to replay the same fault schedule).
# An hour: bench/chaos/run-chaos.sh 3600.
# As root, the data directory lives on a fresh ext4 file system in a loop device
# (CHAOS_DISK_SIZE, default 16G, sparse in $TMPDIR): disk-full episodes fill it, slow-disk
# episodes throttle its writes with the cgroup v1 blkio write_iops limit. Without a loop device it
# falls back to a tmpfs (CHAOS_TMPFS_SIZE, default 2G; no slow disk); not as root, to a plain
# directory (neither). Everything it mounts, throttles or starts is undone on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-120}
seed=${2:-$(( (RANDOM << 15) | RANDOM ))}
shift $(( $# > 2 ? 2 : $# ))
dotnet build -c Release -v quiet src/Showrunner.Server >/dev/null
dotnet build -c Release -v quiet src/Showrunner.Cli >/dev/null
dotnet build -c Release -v quiet bench/Showrunner.Bench >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/showrunner-chaos.XXXXXX")
mnt="$work/mnt"
mkdir -p "$mnt"
loop=""
device=""
blkio=/sys/fs/cgroup/blkio/blkio.throttle.write_iops_device
cleanup() {
  if [[ -n "$device" && -w "$blkio" ]]; then echo "$device 0" > "$blkio" || true; fi
  if mountpoint -q "$mnt"; then umount "$mnt" || umount -l "$mnt" || true; fi
  if [[ -n "$loop" ]]; then losetup -d "$loop" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

fs_args=()
if [[ $(id -u) -eq 0 ]]; then
  truncate -s "${CHAOS_DISK_SIZE:-16G}" "$work/disk.img"
  if loop=$(losetup -f --show "$work/disk.img" 2>/dev/null) && mkfs.ext4 -q -F -m 0 "$loop" && mount "$loop" "$mnt"; then
    device="$(( 0x$(stat -c %t "$loop") )):$(( 0x$(stat -c %T "$loop") ))"
    fs_args=(--fs "$mnt" --block-device "$device")
    echo "# data on ext4 in $loop ($device), ${CHAOS_DISK_SIZE:-16G}"
  else
    loop=""
    rm -f "$work/disk.img"
    mount -t tmpfs -o "size=${CHAOS_TMPFS_SIZE:-2G}" tmpfs "$mnt"
    fs_args=(--fs "$mnt")
    echo "# no loop device: data on a ${CHAOS_TMPFS_SIZE:-2G} tmpfs (no slow-disk episodes)"
  fi
else
  echo "# not root: no disk-full or slow-disk episodes"
fi
echo "## machine"; nproc; grep -m1 'model name' /proc/cpuinfo || true; free -g | head -2; uname -r; dotnet --version
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet bench/Showrunner.Bench/bin/Release/net10.0/Showrunner.Bench.dll chaos --seconds "$seconds" --seed "$seed" \
  --data "$mnt/data" "${fs_args[@]}" "$@"
