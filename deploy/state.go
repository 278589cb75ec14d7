package deploy

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	ref "github.com/google/go-containerregistry/pkg/name"
)

// State is what runs on an app's hosts, as observed before a plan is
// made. Tests build one by hand to assert a plan without any server:
// start from State{} (nothing runs anywhere) or StateRunning (a release
// runs everywhere) and change what the test is about; NewPlan rejects a
// ProxyState.Services entry of the wrong shape (see State.Validate).
type State struct {
	// Hosts maps each host's address onto what runs there. A host that is
	// missing is taken to run nothing of the app.
	Hosts map[string]HostState
	// Lock is the deploy lock on the primary host, if one is held.
	Lock *LockInfo
}

// HostState is what one host runs.
type HostState struct {
	// Containers are the app's containers (every role and destination).
	Containers []Container
	// Proxy is the kamal-proxy container; nil when the host has none.
	Proxy *ProxyState
	// Images are the image references the host's engine holds.
	Images []string
	// ImageIDs maps each of Images onto the ID of the image it names
	// now ("sha256:..."), where known: a container whose ImageID is not
	// its tag's is replaced ("image changed"), as after a rebuild under
	// the same tag.
	ImageIDs map[string]string
}

// Container is one of the app's containers on a host.
type Container struct {
	Name        string
	Role        string
	Destination string
	Version     string
	// Accessory names the accessory the container runs, for accessories.
	Accessory string
	Running   bool
	Created   time.Time
	// ID is the engine's ID of the container.
	ID string
	// ImageID is the ID of the image the container runs ("sha256:...").
	ImageID string
	// Fingerprint is what the container was made with (its
	// LabelFingerprint); nil for a container made before Slipway
	// fingerprinted containers, which a plan takes as it is.
	Fingerprint Fingerprint
}

// ProxyState is a host's kamal-proxy.
type ProxyState struct {
	Running bool
	Image   string
	// Fingerprint is the container's LabelFingerprint (ProxyFingerprint
	// of what it was made from); nil for a proxy made before Slipway
	// fingerprinted it, which is rebooted only when its Image differs.
	Fingerprint Fingerprint
	// Services maps each kamal-proxy service onto the target it routes
	// to, as `kamal-proxy list` shows them: the service is ProxyService
	// of the app and role ("hello-web", "hello-web-staging"), the target
	// is "container:port", as ProxyTarget makes it ("hello-web-v2:3000").
	// A role whose service routes elsewhere, or nowhere, is booted again.
	Services map[string]string
}

// StateRunning is the state of hosts that run version of a and nothing
// else: on every role's servers that role's container, running; on every
// host of a web role kamal-proxy, running and routing the role's service
// to it (ProxyTarget); every accessory running on its hosts; and the
// release's image on each of them, each accessory made as it is declared
// (AccessoryFingerprint). NewPlan of the same version against it
// returns ErrNothingToDeploy. An App that does not validate gets the state
// of its roles as they stand, without the sidecars its Databases imply.
func StateRunning(a App, version string) State {
	if x, err := a.expand(); err == nil {
		a = x
	}
	img := Release{Version: version}.ImageRef(a)
	s := State{Hosts: map[string]HostState{}}
	for _, role := range a.roleNames() {
		r := a.Roles[role]
		for _, srv := range r.Servers {
			hs := s.Hosts[srv.Host]
			hs.Containers = append(hs.Containers, Container{Name: ContainerName(a, role, version), Role: role,
				Destination: a.Destination, Version: version, Running: true})
			hs.Images = appendNew(hs.Images, img)
			if r.Proxy != nil {
				if hs.Proxy == nil {
					b, _ := proxyBoot(a, srv.Host)
					hs.Proxy = &ProxyState{Running: true, Image: r.Proxy.image(), Fingerprint: ProxyFingerprint(b), Services: map[string]string{}}
				}
				hs.Proxy.Services[ProxyService(a, role)] = ProxyTarget(a, role, version)
			}
			s.Hosts[srv.Host] = hs
		}
	}
	runningBalancers(a, s)
	for _, name := range sortedKeys(a.Accessories) {
		acc := a.Accessories[name]
		for _, h := range a.accessoryHosts(name) {
			hs := s.Hosts[h]
			hs.Containers = append(hs.Containers, Container{Name: AccessoryName(a, name), Destination: a.Destination,
				Accessory: name, Running: true, Fingerprint: AccessoryFingerprint(a, name, nil)})
			hs.Images = appendNew(hs.Images, acc.Image)
			s.Hosts[h] = hs
		}
	}
	return s
}

// ProxyTarget is what kamal-proxy routes role's service to while version
// runs: "container:port", such as "hello-web-v2:3000". It is the value
// of ProxyState.Services for ProxyService(a, role).
func ProxyTarget(a App, role, version string) string {
	port := DefaultAppPort
	if px := a.Roles[role].Proxy; px != nil {
		port = px.appPort()
	}
	return fmt.Sprintf("%s:%d", ContainerName(a, role, version), port)
}

// Validate checks the ProxyState.Services entries of a's web roles on
// their hosts, where a value of the wrong shape would make every plan
// boot the role again: a target must be "container:port", and a service
// is keyed by its ProxyService name, not by the role's. Entries of other
// apps sharing the proxy are left alone.
func (s State) Validate(a App) error {
	var problems []string
	for _, role := range a.roleNames() {
		r := a.Roles[role]
		if r.Proxy == nil {
			continue
		}
		svc := ProxyService(a, role)
		for _, srv := range r.Servers {
			ps := s.Hosts[srv.Host].Proxy
			if ps == nil {
				continue
			}
			target, ok := ps.Services[svc]
			if !ok && svc != role {
				if _, byRole := ps.Services[role]; byRole {
					problems = append(problems, fmt.Sprintf("hosts[%s].proxy.services is keyed by the role %q; key it by the kamal-proxy service %q (ProxyService)", srv.Host, role, svc))
				}
				continue
			}
			if ok && !isTarget(target) {
				problems = append(problems, fmt.Sprintf("hosts[%s].proxy.services[%s]: %q is not \"container:port\" (ProxyTarget makes it, such as %q)", srv.Host, svc, target, ProxyTarget(a, role, "v1")))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("state: %s", strings.Join(problems, "; "))
	}
	return nil
}

// isTarget reports whether t is "name:port" with a port kamal-proxy accepts.
func isTarget(t string) bool {
	name, port, ok := strings.Cut(t, ":")
	n, err := strconv.Atoi(port)
	return ok && name != "" && err == nil && n > 0 && n <= 65535
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// Containers lists the versions of role containers on host for the App's
// destination, newest first.
func (s State) Containers(a App, host, role string) []Container {
	var out []Container
	for _, c := range s.Hosts[host].Containers {
		if c.Role == role && c.Destination == a.Destination {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out
}

func (s State) container(host, name string) (Container, bool) {
	for _, c := range s.Hosts[host].Containers {
		if c.Name == name {
			return c, true
		}
	}
	return Container{}, false
}

// hasImage reports whether host holds ref, however either names it:
// "redis" is "docker.io/library/redis:latest" as the engine lists it.
func (s State) hasImage(host, r string) bool {
	images := s.Hosts[host].Images
	if slices.Contains(images, r) {
		return true
	}
	want := normalRef(r)
	return want != "" && slices.ContainsFunc(images, func(have string) bool { return normalRef(have) == want })
}

// normalRef is an image reference in full, registry and tag included;
// "" when it does not parse.
func normalRef(r string) string {
	n, err := ref.ParseReference(r)
	if err != nil {
		return ""
	}
	return n.Name()
}

// imageChanged reports whether c runs another image than the one ref
// names on host now; false when either ID is unknown.
func (s State) imageChanged(host, ref string, c Container) bool {
	id := s.Hosts[host].ImageIDs[ref]
	return id != "" && c.ImageID != "" && id != c.ImageID
}
