package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
)

// EnsureNetwork creates a bridge network with labels unless one of that
// name exists already, which is then left as it is.
func (e *Engine) EnsureNetwork(ctx context.Context, name string, labels map[string]string) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.NetworkCreateResult, error) {
		return e.api.NetworkCreate(ctx, name, client.NetworkCreateOptions{Labels: labels})
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNoAnswer) || ctx.Err() != nil {
		return fmt.Errorf("create network %s on %s: %w", name, e.host, err)
	}
	// The engine refuses a duplicate name with a conflict, but a
	// predefined network ("bridge") with a different error; ask for it.
	n, ierr := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.NetworkInspectResult, error) {
		return e.api.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	})
	if ierr == nil && n.Network.Name == name {
		return nil
	}
	return fmt.Errorf("create network %s on %s: %w", name, e.host, err)
}

// EnsureVolume creates a named local volume with labels unless one of
// that name exists already, which is then left as it is.
func (e *Engine) EnsureVolume(ctx context.Context, name string, labels map[string]string) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.VolumeCreateResult, error) {
		return e.api.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name, Labels: labels})
	})
	if err != nil {
		return fmt.Errorf("create volume %s on %s: %w", name, e.host, err)
	}
	return nil
}

// VolumeMountpoint returns where the named volume's files live on the
// host, for tools that work on them over SSH (moving a damaged database
// aside, say). ErrNotFound when there is no such volume.
func (e *Engine) VolumeMountpoint(ctx context.Context, name string) (string, error) {
	v, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.VolumeInspectResult, error) {
		return e.api.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	})
	if err != nil {
		return "", fmt.Errorf("inspect volume %s on %s: %w", name, e.host, err)
	}
	return v.Volume.Mountpoint, nil
}

// VolumeRemove deletes a volume and its data; force removes it even if
// a stopped container still names it. A missing volume is fine.
func (e *Engine) VolumeRemove(ctx context.Context, name string, force bool) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.VolumeRemoveResult, error) {
		return e.api.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: force})
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("remove volume %s on %s: %w", name, e.host, err)
	}
	return nil
}
