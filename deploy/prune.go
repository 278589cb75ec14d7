package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// PruneReport says what Prune removed.
type PruneReport struct {
	// Containers are the release containers removed, and any one-off
	// container an interrupted Exec left behind.
	Containers []VersionInfo
	// Images are the image references removed.
	Images   []PrunedImage
	Duration time.Duration
}

// PrunedImage is one image reference Prune removed from a host.
type PrunedImage struct {
	Host string
	Ref  string // repository:tag
	ID   string
}

// Prune takes the deploy lock, then on every host removes the app's
// stopped release containers beyond App.Retain per role (the newest are
// kept; a running container never goes) and the tags of the app's
// repository (App.Image) whose image no container on the host uses any
// more. Each removal gets an output line and an audit line on its host. A
// failing host does not stop the others; the report holds what was done.
func (s *Session) Prune(ctx context.Context) (_ PruneReport, err error) {
	defer s.redactErr(&err)
	start := time.Now()
	var rep PruneReport
	if err := s.Lock(ctx, ""); err != nil {
		return rep, err
	}
	defer func() { err = s.releaseAfter(ctx, err) }() // a lock left held is reported

	hosts := s.app.HostNames()
	containers := make([][]VersionInfo, len(hosts))
	images := make([][]PrunedImage, len(hosts))
	audit := &auditLog{}
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		err := s.pruneHost(ctx, h, audit, &containers[i], &images[i])
		return errors.Join(err, s.flushAudit(ctx, audit, h.name))
	})
	rep.Containers = slices.Concat(containers...)
	rep.Images = slices.Concat(images...)
	rep.Duration = time.Since(start)
	result := "done"
	if err != nil {
		result = "FAILED"
	}
	s.out.linef("Prune %s: removed %d containers and %d images on %d hosts: %s in %s",
		s.app.Service, len(rep.Containers), len(rep.Images), len(hosts), result, seconds(rep.Duration))
	return rep, err
}

func (s *Session) pruneHost(ctx context.Context, h *hostConn, audit *auditLog, removed *[]VersionInfo, images *[]PrunedImage) error {
	cs, err := s.appContainers(ctx, h)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	leftovers, err := h.engine.List(ctx, engine.ListOptions{All: true, Labels: map[string]string{LabelExec: s.app.Service}})
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	var doomed []engine.Container
	kept := map[string]int{}
	for _, c := range cs { // newest first
		role := c.Labels[LabelRole]
		if !stopped(c.State) {
			continue
		}
		if kept[role] < s.app.retain() {
			kept[role]++
			continue
		}
		doomed = append(doomed, c)
	}
	for _, c := range leftovers {
		if stopped(c.State) && c.Labels[LabelDestination] == s.app.Destination {
			doomed = append(doomed, c)
		}
	}

	var errs []error
	for _, c := range doomed {
		start := time.Now()
		err := h.engine.Remove(ctx, c.Name, false)
		if errors.Is(err, engine.ErrNotFound) {
			err = nil
		}
		v := versionInfo(h.name, c)
		s.record(audit, stepLine{host: h.name, role: v.Role, step: StepPrune.String(), version: v.Version,
			container: c.Name, detail: c.Name, start: start, err: err})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*removed = append(*removed, v)
	}
	if err := s.pruneImages(ctx, h, audit, images); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// pruneImages removes the tags of the app's repository whose image no
// container on the host uses, whichever app the container belongs to.
func (s *Session) pruneImages(ctx context.Context, h *hostConn, audit *auditLog, removed *[]PrunedImage) error {
	all, err := h.engine.List(ctx, engine.ListOptions{All: true})
	if err != nil {
		return fmt.Errorf("prune images: %w", err)
	}
	used := map[string]bool{}
	for _, c := range all {
		used[c.ImageID] = true
	}
	list, err := h.engine.ImageList(ctx, nil)
	if err != nil {
		return fmt.Errorf("prune images: %w", err)
	}
	repo := familiarName(s.app.Image)
	var errs []error
	for _, img := range list {
		if used[img.ID] {
			continue
		}
		for _, ref := range img.Tags {
			r, tag, ok := splitTag(familiarName(ref))
			if !ok || r != repo {
				continue
			}
			start := time.Now()
			err := h.engine.ImageRemove(ctx, ref, false)
			if errors.Is(err, engine.ErrNotFound) {
				err = nil
			}
			s.record(audit, stepLine{host: h.name, step: "prune-image", version: tag, image: ref, detail: ref, start: start, err: err})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			*removed = append(*removed, PrunedImage{Host: h.name, Ref: ref, ID: img.ID})
		}
	}
	return errors.Join(errs...)
}

// stopped reports whether a container is down for good: created and never
// started, exited or dead. A restarting or paused container is in use.
func stopped(st engine.State) bool {
	return st == engine.StateCreated || st == engine.StateExited || st == engine.StateDead
}

// familiarName is a reference as the engine lists it: Docker Hub's
// registry and "library/" left out.
func familiarName(ref string) string {
	for _, p := range []string{"docker.io/", "index.docker.io/"} {
		ref = strings.TrimPrefix(ref, p)
	}
	return strings.TrimPrefix(ref, "library/")
}

// splitTag cuts "repo:tag"; a colon before the last slash is a registry port.
func splitTag(ref string) (repo, tag string, ok bool) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || i < strings.LastIndexByte(ref, '/') {
		return ref, "", false
	}
	return ref[:i], ref[i+1:], true
}
