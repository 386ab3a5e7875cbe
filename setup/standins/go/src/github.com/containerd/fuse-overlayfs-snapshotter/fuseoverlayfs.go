// Package fuseoverlayfs is a stand-in for github.com/containerd/fuse-overlayfs-snapshotter, which
// Debian does not package. This build has no fuse-overlayfs support: Supported says so, and
// buildkitd falls back to its native snapshotter, as it does on a host without FUSE.
package fuseoverlayfs

import (
	"errors"

	"github.com/containerd/containerd/snapshots"
)

var errUnsupported = errors.New("fuse-overlayfs is not available in this build of buildkitd")

type Opt func(config *SnapshotterConfig) error

type SnapshotterConfig struct{}

func Supported(root string) error { return errUnsupported }

func NewSnapshotter(root string, opts ...Opt) (snapshots.Snapshotter, error) {
	return nil, errUnsupported
}
