package engine

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// EnsureNetwork creates a bridge network with labels unless one of that
// name exists already, which is then left as it is.
func (e *Engine) EnsureNetwork(ctx context.Context, name string, labels map[string]string) error {
	_, err := e.api.NetworkCreate(ctx, name, network.CreateOptions{Labels: labels})
	if err == nil {
		return nil
	}
	// The engine refuses a duplicate name with a conflict, but a
	// predefined network ("bridge") with a different error; ask for it.
	if n, ierr := e.api.NetworkInspect(ctx, name, network.InspectOptions{}); ierr == nil && n.Name == name {
		return nil
	}
	return fmt.Errorf("create network %s on %s: %w", name, e.host, e.cause(err))
}

// EnsureVolume creates a named local volume with labels unless one of
// that name exists already, which is then left as it is.
func (e *Engine) EnsureVolume(ctx context.Context, name string, labels map[string]string) error {
	if _, err := e.api.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: labels}); err != nil {
		return fmt.Errorf("create volume %s on %s: %w", name, e.host, e.cause(err))
	}
	return nil
}

// VolumeMountpoint returns where the named volume's files live on the
// host, for tools that work on them over SSH (moving a damaged database
// aside, say). ErrNotFound when there is no such volume.
func (e *Engine) VolumeMountpoint(ctx context.Context, name string) (string, error) {
	v, err := e.api.VolumeInspect(ctx, name)
	if err != nil {
		return "", fmt.Errorf("inspect volume %s on %s: %w", name, e.host, e.cause(err))
	}
	return v.Mountpoint, nil
}

// VolumeRemove deletes a volume and its data; force removes it even if
// a stopped container still names it. A missing volume is fine.
func (e *Engine) VolumeRemove(ctx context.Context, name string, force bool) error {
	if err := e.api.VolumeRemove(ctx, name, force); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove volume %s on %s: %w", name, e.host, e.cause(err))
	}
	return nil
}
