# vm_outer.sh — the initramfs side of bench_headunit.sh's guest. The
# programs, their libraries and the data (logs, stores, keys: /data) are on
# an ext4 image attached as a read-only virtio disk and mounted at /hu as a
# head unit mounts its flash; measure.sh runs chrooted there. So the pages
# of eco2d and its libraries are a disk file system's page cache (clean,
# reclaimable, charged to the cgroup that first reads them), not the
# initramfs's tmpfs pages, which are always dirty and would count as
# private dirty memory; and the guest's RAM holds only what runs.
set -u
mkdir -p /hu
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
	i=$((i + 1))
	usleep 100000
done
mount -t ext4 -o ro /dev/vda /hu || { echo "cannot mount the image (/dev/vda)"; exit 1; }
mount -t proc proc /hu/proc &&
	mount -t sysfs sys /hu/sys &&
	mount -t cgroup2 none /hu/sys/fs/cgroup &&
	mount -t devtmpfs dev /hu/dev &&
	mount -t tmpfs tmp /hu/tmp &&
	mount -t tmpfs run /hu/run || { echo "cannot set up the chroot"; exit 1; }
echo +memory >/hu/sys/fs/cgroup/cgroup.subtree_control || exit 1
echo "# $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo) memory"
chroot /hu /bin/sh -c '. /eco2/env && cd /tmp && exec /bin/sh /eco2/run.sh'
rc=$?
cp -a /hu/tmp/out/. /eco2/out/ 2>/dev/null
exit $rc
