// SPDX-License-Identifier: GPL-2.0
// `axvm exec [--] COMMAND [ARGS...]`: runs a program written for /dev/kvm on
// axvm, unchanged. COMMAND gets a private mount namespace in which /dev/kvm
// is a bind mount of /dev/axvm; nothing outside that namespace changes.
//
// When /dev/kvm exists (KVM loaded), /dev/axvm is bound over it. When it does
// not, a name has to be made for the mount, and making it in the real /dev
// would show every other process a /dev/kvm that is not KVM (and leave it
// behind if we die). So, in the namespace only, a tmpfs goes over /dev with
// the same directories, device nodes and symbolic links (same owners and
// modes), the sockets (/dev/log) and regular files bound from the old /dev,
// the file systems mounted below it (pts, shm, mqueue, hugepages) bound at
// the same places, and an empty file /dev/kvm to bind /dev/axvm onto. What
// COMMAND does not see: device nodes that appear after it started, and
// security labels of the old nodes.
#include "exec.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

// The mount API of Linux 5.2 (not every C library wraps it yet).
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

namespace axvm::client {

namespace {

constexpr const char *AXVM = "/dev/axvm";
constexpr const char *KVM = "/dev/kvm";

int fail(const char *what, const std::string &path, int err)
{
	fprintf(stderr, "axvm exec: %s %s: %s\n", what, path.c_str(), strerror(err));
	return 1;
}

// A copy of the mount at @dirfd/@name (recursive), attached at @to.
int bind_at(int dirfd, const char *name, const std::string &to)
{
	const int tree = syscall(SYS_open_tree, dirfd, name, OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return -errno;
	const int ret = syscall(SYS_move_mount, tree, "", AT_FDCWD, to.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
	const int err = errno;
	close(tree);
	return ret < 0 ? -err : 0;
}

// Copies the directory @from (the old /dev or below, on device @dev) into
// @to, which is @path in the new /dev. 0, or 1 after printing the error.
int copy_dir(int from, int to, dev_t dev, const std::string &path)
{
	const int list = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = list < 0 ? nullptr : fdopendir(list);
	if (!dir)
		return fail("cannot read", path, errno);
	int status = 0;
	while (const dirent *e = readdir(dir)) {
		const char *name = e->d_name;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		const std::string dest = path + "/" + name;
		struct stat st;
		if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) // gone meanwhile (a device unplugged)
				continue;
			status = fail("cannot stat", dest, errno);
			break;
		}
		const mode_t perm = st.st_mode & 07777;
		// Made with the old owner before anything is mounted on it.
		auto made = [&](int ret) {
			if (ret < 0 || fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
				return -errno;
			return 0;
		};
		int err = 0;
		if (S_ISDIR(st.st_mode)) {
			err = made(mkdirat(to, name, perm));
			if (!err && st.st_dev != dev) { // a file system mounted here
				err = bind_at(from, name, dest);
			} else if (!err) {
				const int sub_from = openat(from, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
				const int sub_to = openat(to, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (sub_from < 0 || sub_to < 0)
					err = -errno;
				else if (copy_dir(sub_from, sub_to, dev, dest))
					status = 1;
				if (sub_from >= 0)
					close(sub_from);
				if (sub_to >= 0)
					close(sub_to);
				if (status)
					break;
			}
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			const ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);
			if (n < 0)
				err = -errno;
			else
				target[n] = 0, err = made(symlinkat(target, to, name));
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
			err = made(mknodat(to, name, st.st_mode, st.st_rdev));
		} else { // a socket or a regular file: the same one, bound
			const int fd = openat(to, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, perm);
			if (fd >= 0)
				close(fd);
			err = made(fd);
			if (!err)
				err = bind_at(from, name, dest);
		}
		if (err) {
			status = fail("cannot copy", dest, -err);
			break;
		}
	}
	closedir(dir);
	return status;
}

// /dev again, on a tmpfs of this namespace, with an empty file /dev/kvm.
int private_dev()
{
	const int old = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	struct statvfs sv;
	if (old < 0 || fstat(old, &st) < 0 || fstatvfs(old, &sv) < 0)
		return fail("cannot read", "/dev", errno);
	unsigned long flags = MS_NOSUID;
	if (sv.f_flag & ST_NOEXEC)
		flags |= MS_NOEXEC;
	char opts[64];
	snprintf(opts, sizeof(opts), "mode=%o,uid=%u,gid=%u", st.st_mode & 07777, st.st_uid, st.st_gid);
	if (mount("tmpfs", "/dev", "tmpfs", flags, opts) < 0)
		return fail("cannot mount a tmpfs on", "/dev", errno);
	const int now = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (now < 0)
		return fail("cannot open", "/dev", errno);
	const mode_t mask = umask(0); // the modes as they are
	int status = copy_dir(old, now, st.st_dev, "/dev");
	if (!status) {
		const int fd = openat(now, "kvm", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd < 0)
			status = fail("cannot create", KVM, errno);
		else
			close(fd);
	}
	umask(mask);
	close(now);
	close(old);
	return status;
}

} // namespace

int exec_command(int argc, char **argv)
{
	if (argc > 0 && !strcmp(argv[0], "--"))
		argc--, argv++;
	if (argc == 0) {
		fprintf(stderr, "usage: axvm exec [--] COMMAND [ARGS...]\n");
		return 2;
	}

	struct stat st;
	if (stat(AXVM, &st) < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "axvm exec: %s does not exist: is the module loaded? (sudo insmod axvm.ko)\n", AXVM);
		else
			fail("cannot stat", AXVM, errno);
		return 1;
	}
	if (!S_ISCHR(st.st_mode)) {
		fprintf(stderr, "axvm exec: %s is not a character device\n", AXVM);
		return 1;
	}

	if (unshare(CLONE_NEWNS) < 0) {
		if (errno == EPERM)
			fprintf(stderr, "axvm exec: a private mount namespace needs CAP_SYS_ADMIN: run as root\n");
		else
			fprintf(stderr, "axvm exec: cannot make a mount namespace: %s\n", strerror(errno));
		return 1;
	}
	// Private first, or the mounts below would propagate to the namespace
	// we came from. In a chroot whose root is not a mount point, "/" cannot
	// be changed; /dev, where every mount below goes, is then enough.
	if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 &&
	    (errno != EINVAL || mount(nullptr, "/dev", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0))
		return fail("cannot make the mounts private under", "/", errno);

	struct stat kvm;
	if (lstat(KVM, &kvm) < 0) {
		if (errno != ENOENT)
			return fail("cannot stat", KVM, errno);
		if (private_dev())
			return 1;
	}
	if (mount(AXVM, KVM, nullptr, MS_BIND, nullptr) < 0)
		return fail("cannot bind /dev/axvm on", KVM, errno);

	execvp(argv[0], argv);
	// As a shell says it: 127 for a command it cannot find, 126 for one it
	// cannot run.
	const int err = errno;
	if (err == ENOENT) {
		fprintf(stderr, "axvm exec: %s: command not found\n", argv[0]);
		return 127;
	}
	fprintf(stderr, "axvm exec: cannot run %s: %s\n", argv[0], strerror(err));
	return 126;
}

} // namespace axvm::client
