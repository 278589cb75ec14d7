package deploy

import (
	"slices"
	"sort"
	"time"
)

// State is what runs on an app's hosts, as observed before a plan is
// made. Tests build one by hand to assert a plan without any server.
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
}

// ProxyState is a host's kamal-proxy.
type ProxyState struct {
	Running bool
	Image   string
	// Services maps each kamal-proxy service onto its current target.
	Services map[string]string
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

func (s State) hasImage(host, ref string) bool {
	return slices.Contains(s.Hosts[host].Images, ref)
}
