package deploy

import (
	"context"
	"errors"
	"fmt"

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
	hosts := s.app.HostNames()
	per := make([]HostState, len(hosts))
	err := s.onHosts(hosts, func(i int, h *hostConn) error {
		err := s.call(ctx, h.name, "observe", s.opts.callTimeout(), func(ctx context.Context) error {
			var err error
			per[i], err = observeHost(ctx, s.app, h.engine)
			if err == nil {
				err = checkNames(ctx, s.app, h.name, h.engine)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("observe %s: %w", h.name, err)
		}
		return nil
	})
	if err != nil {
		return State{}, err
	}
	state := State{Hosts: make(map[string]HostState, len(hosts))}
	for i, host := range hosts {
		state.Hosts[host] = per[i]
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
			ID: c.ID, ImageID: c.ImageID, Fingerprint: ParseFingerprint(c.Labels[LabelFingerprint]),
		})
	}
	px, err := e.Inspect(ctx, proxy.DefaultContainer)
	switch {
	case errors.Is(err, engine.ErrNotFound):
	case err != nil:
		return hs, err
	default:
		hs.Proxy = &ProxyState{Running: px.Running(), Image: px.Image, Services: map[string]string{},
			Fingerprint: ParseFingerprint(px.Labels[LabelFingerprint])}
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
		for _, tag := range img.Tags {
			if hs.ImageIDs == nil {
				hs.ImageIDs = map[string]string{}
			}
			hs.ImageIDs[tag] = img.ID
		}
	}
	return hs, nil
}
