package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// NetworkEnsure creates a bridge network with labels unless one of that
// name exists already, which is then left as it is. Callers sharing an
// Engine take turns; callers on other connections, which an older engine
// may let make a second network of the name, are settled afterwards by
// keeping the oldest.
func (e *Engine) NetworkEnsure(ctx context.Context, name string, labels map[string]string) error {
	e.ensureMu.Lock()
	defer e.ensureMu.Unlock()
	fail := func(err error) error { return fmt.Errorf("create network %s on %s: %w", name, e.host, err) }
	existing, err := e.networks(ctx, name)
	if err != nil {
		return fail(err)
	}
	if len(existing) > 0 {
		return nil
	}
	created, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.NetworkCreateResult, error) {
		return e.api.NetworkCreate(ctx, name, client.NetworkCreateOptions{Labels: labels})
	})
	if err != nil {
		// A caller on another connection may have just made it.
		if existing, lerr := e.networks(ctx, name); lerr == nil && len(existing) > 0 {
			return nil
		}
		return fail(err)
	}
	// Engines before API 1.44 make a second network of a name that is
	// taken: if another caller made one meanwhile, keep the oldest only.
	existing, err = e.networks(ctx, name)
	if err != nil {
		return fail(err)
	}
	if len(existing) > 1 && existing[0].ID != created.ID {
		_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.NetworkRemoveResult, error) {
			return e.api.NetworkRemove(ctx, created.ID, client.NetworkRemoveOptions{})
		})
		if err != nil {
			return fail(fmt.Errorf("remove the duplicate %s: %w", created.ID, err))
		}
	}
	return nil
}

// NetworkRemove deletes the network of that name; the engine refuses
// while a running container is attached to it. A missing network is fine.
func (e *Engine) NetworkRemove(ctx context.Context, name string) error {
	_, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.NetworkRemoveResult, error) {
		return e.api.NetworkRemove(ctx, name, client.NetworkRemoveOptions{})
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("remove network %s on %s: %w", name, e.host, err)
	}
	return nil
}

// networks lists the networks of exactly that name, oldest first.
func (e *Engine) networks(ctx context.Context, name string) ([]network.Summary, error) {
	list, err := call(ctx, e, e.callTimeout, func(ctx context.Context) (client.NetworkListResult, error) {
		// The engine's name filter matches a part of the name.
		return e.api.NetworkList(ctx, client.NetworkListOptions{Filters: client.Filters{}.Add("name", name)})
	})
	if err != nil {
		return nil, err
	}
	var named []network.Summary
	for _, n := range list.Items {
		if n.Name == name {
			named = append(named, n)
		}
	}
	sort.Slice(named, func(i, j int) bool {
		if !named[i].Created.Equal(named[j].Created) {
			return named[i].Created.Before(named[j].Created)
		}
		return named[i].ID < named[j].ID
	})
	return named, nil
}

// VolumeEnsure creates a named local volume with labels unless one of
// that name exists already, which is then left as it is.
func (e *Engine) VolumeEnsure(ctx context.Context, name string, labels map[string]string) error {
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
