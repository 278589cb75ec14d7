package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// Observe reads what runs on every host, changing nothing: the app's
// containers (found by their labels), kamal-proxy and its routes, the
// images present, and the lock.
func (s *Session) Observe(ctx context.Context) (_ State, err error) {
	defer s.redactErr(&err)
	return s.observe(ctx, true)
}

// observe reads every host; withLock also reads the lock, which a deploy
// that holds it has no need to.
func (s *Session) observe(ctx context.Context, withLock bool) (State, error) {
	state := State{Hosts: map[string]HostState{}}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for name, h := range s.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var hs HostState
			err := s.call(ctx, name, "observe", s.opts.callTimeout(), func(ctx context.Context) error {
				var err error
				hs, err = observeHost(ctx, s.app, h.engine)
				if err == nil {
					err = checkNames(ctx, s.app, name, h.engine)
				}
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("observe %s: %w", name, err))
				return
			}
			state.Hosts[name] = hs
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return State{}, errors.Join(errs...)
	}
	if withLock {
		lock, err := s.LockStatus(ctx)
		if err != nil {
			return State{}, err
		}
		state.Lock = lock
	}
	return state, nil
}

func observeHost(ctx context.Context, a App, e *engine.Engine) (HostState, error) {
	var hs HostState
	cs, err := e.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{LabelService: a.Service}})
	if err != nil {
		return hs, err
	}
	for _, c := range cs {
		hs.Containers = append(hs.Containers, Container{
			Name: c.Name, Role: c.Labels[LabelRole], Destination: c.Labels[LabelDestination],
			Version: c.Labels[LabelVersion], Accessory: c.Labels[LabelAccessory], Running: c.Running(), Created: c.Created,
		})
	}
	px, err := e.Inspect(ctx, proxy.DefaultContainer)
	switch {
	case errors.Is(err, engine.ErrNotFound):
	case err != nil:
		return hs, err
	default:
		hs.Proxy = &ProxyState{Running: px.Running(), Image: px.Image, Services: map[string]string{}}
		if px.Running() {
			routes, err := proxy.List(ctx, e, proxy.DefaultContainer)
			if err != nil {
				return hs, err
			}
			for _, r := range routes {
				hs.Proxy.Services[r.Service] = r.Target
			}
		}
	}
	images, err := e.ImageList(ctx, nil)
	if err != nil {
		return hs, err
	}
	for _, img := range images {
		hs.Images = append(hs.Images, img.Tags...)
	}
	return hs, nil
}
