package engine

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-connections/nat"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// ContainerSpec describes a container to create; only Image is required.
type ContainerSpec struct {
	Name       string   // "" lets the engine pick one
	Image      string   // the image reference to run
	Cmd        []string // replaces the image's CMD when set
	Entrypoint []string // replaces the image's ENTRYPOINT when set

	// Env holds KEY=VALUE pairs. Values may be secrets, so String shows
	// the keys only and no error of this package names either.
	Env    []string
	Labels map[string]string

	Network        string   // the network to join; "" means the engine's default bridge
	NetworkAliases []string // extra DNS names on Network
	Volumes        []string // binds, "volume:/path" or "/host/path:/path", with ":ro" for read-only
	Ports          []string // published ports in docker -p syntax: "80:80", "127.0.0.1:8080:3000/tcp"

	Restart    string // "", "no", "always", "unless-stopped", "on-failure" or "on-failure:N"
	User       string // user[:group] to run as; "" keeps the image's
	WorkingDir string // "" keeps the image's

	StopTimeout time.Duration     // how long a stop waits before SIGKILL; 0 means the engine's 10s
	Memory      int64             // memory limit in bytes; 0 means none
	CPUs        float64           // CPU limit, 1.5 meaning one and a half CPUs; 0 means none
	LogDriver   string            // the log driver, such as "json-file" or "local"; "" means the engine's default
	LogOptions  map[string]string // options for the log driver, such as "max-size"
	ExtraHosts  []string          // "name:ip" lines for the container's /etc/hosts
	Init        bool              // run an init as PID 1 that reaps zombies and forwards signals
}

// String names the container and its image and lists the Env keys, never their values.
func (s ContainerSpec) String() string {
	keys := make([]string, len(s.Env))
	for i, kv := range s.Env {
		keys[i], _, _ = strings.Cut(kv, "=")
	}
	return fmt.Sprintf("container %s (image %s, env %s)", s.Name, s.Image, strings.Join(keys, ","))
}

// GoString is String, so that %#v cannot print secrets either.
func (s ContainerSpec) GoString() string { return s.String() }

// config turns the spec into the engine's create request.
func (s ContainerSpec) config() (*container.Config, *container.HostConfig, *network.NetworkingConfig, error) {
	if s.Image == "" {
		return nil, nil, nil, errors.New("no image given")
	}
	exposed, bindings, err := parsePorts(s.Ports)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ports: %w", err)
	}
	restart, err := parseRestart(s.Restart)
	if err != nil {
		return nil, nil, nil, err
	}
	if s.Memory < 0 || s.CPUs < 0 {
		return nil, nil, nil, errors.New("memory and CPU limits cannot be negative")
	}

	cfg := &container.Config{
		Image:        s.Image,
		Cmd:          s.Cmd,
		Entrypoint:   s.Entrypoint,
		Env:          s.Env,
		Labels:       s.Labels,
		User:         s.User,
		WorkingDir:   s.WorkingDir,
		ExposedPorts: exposed,
	}
	if s.StopTimeout > 0 {
		secs := seconds(s.StopTimeout)
		cfg.StopTimeout = &secs
	}

	host := &container.HostConfig{
		Binds:         s.Volumes,
		PortBindings:  bindings,
		RestartPolicy: restart,
		ExtraHosts:    s.ExtraHosts,
		LogConfig:     container.LogConfig{Type: s.LogDriver, Config: s.LogOptions},
		Resources: container.Resources{
			Memory:   s.Memory,
			NanoCPUs: int64(math.Round(s.CPUs * 1e9)),
		},
	}
	if s.Init {
		host.Init = &s.Init
	}

	var netCfg *network.NetworkingConfig
	switch {
	case s.Network != "":
		host.NetworkMode = container.NetworkMode(s.Network)
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			s.Network: {Aliases: s.NetworkAliases},
		}}
	case len(s.NetworkAliases) > 0:
		return nil, nil, nil, errors.New("network aliases need a network")
	}
	return cfg, host, netCfg, nil
}

// parsePorts reads published ports in docker -p syntax.
func parsePorts(specs []string) (network.PortSet, network.PortMap, error) {
	exposed, bindings, err := nat.ParsePortSpecs(specs)
	if err != nil {
		return nil, nil, err
	}
	set := make(network.PortSet, len(exposed))
	for p := range exposed {
		port, err := network.ParsePort(string(p))
		if err != nil {
			return nil, nil, err
		}
		set[port] = struct{}{}
	}
	pm := make(network.PortMap, len(bindings))
	for p, bs := range bindings {
		port, err := network.ParsePort(string(p))
		if err != nil {
			return nil, nil, err
		}
		for _, b := range bs {
			var ip netip.Addr
			if h := strings.Trim(b.HostIP, "[]"); h != "" {
				if ip, err = netip.ParseAddr(h); err != nil {
					return nil, nil, fmt.Errorf("host address %q: %w", b.HostIP, err)
				}
			}
			pm[port] = append(pm[port], network.PortBinding{HostIP: ip, HostPort: b.HostPort})
		}
	}
	return set, pm, nil
}

// parseRestart reads a restart policy as docker run --restart takes it.
func parseRestart(s string) (container.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	policy := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	switch policy.Name {
	case "":
		if hasCount {
			break
		}
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}, nil
	case container.RestartPolicyDisabled, container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		if !hasCount {
			return policy, nil
		}
	case container.RestartPolicyOnFailure:
		if !hasCount {
			return policy, nil
		}
		n, err := strconv.Atoi(count)
		if err == nil && n >= 0 {
			policy.MaximumRetryCount = n
			return policy, nil
		}
	}
	return container.RestartPolicy{}, fmt.Errorf("restart policy %q: want no, always, unless-stopped, on-failure or on-failure:N", s)
}

// seconds rounds d up to whole seconds, the engine's unit for timeouts.
func seconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
