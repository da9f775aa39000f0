# vm_outer.sh — the initramfs side of bench_headunit.sh's guest. The
# programs and their libraries are on an ext4 image (/eco2/hu.ext4), mounted
# read-only at /hu as a head unit mounts its flash; measure.sh runs chrooted
# there. So the pages of eco2d and its libraries are a disk file system's
# page cache (clean, reclaimable, charged to the cgroup that first reads
# them), not the initramfs's tmpfs pages, which are always dirty and would
# count as private dirty memory. /eco2/data (logs, stores, keys) is bound
# into the chroot at /data.
set -u
mkdir -p /hu
mount -t ext4 -o loop,ro /eco2/hu.ext4 /hu || { echo "cannot mount /eco2/hu.ext4"; exit 1; }
mount -t proc proc /hu/proc &&
	mount -t sysfs sys /hu/sys &&
	mount -t cgroup2 none /hu/sys/fs/cgroup &&
	mount -t devtmpfs dev /hu/dev &&
	mount -t tmpfs tmp /hu/tmp &&
	mount -t tmpfs run /hu/run &&
	mount -o bind /eco2/data /hu/data || { echo "cannot set up the chroot"; exit 1; }
echo +memory >/hu/sys/fs/cgroup/cgroup.subtree_control || exit 1
echo "# $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo) memory"
chroot /hu /bin/sh -c '. /eco2/env && cd /tmp && exec /bin/sh /eco2/run.sh'
rc=$?
cp -a /hu/tmp/out/. /eco2/out/ 2>/dev/null
exit $rc
