package engine

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpecConfig(t *testing.T) {
	yes := true
	tests := []struct {
		name    string
		spec    ContainerSpec
		check   func(t *testing.T, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig)
		wantErr string
	}{
		{
			name: "carries the process, environment and labels into the config",
			spec: ContainerSpec{
				Image: "app:v1", Cmd: []string{"serve"}, Entrypoint: []string{"/app"},
				Env: []string{"A=1"}, Labels: map[string]string{"service": "app"},
				User: "1000:1000", WorkingDir: "/srv", StopTimeout: 1500 * time.Millisecond,
			},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig) {
				assert.Equal(t, "app:v1", cfg.Image)
				assert.Equal(t, []string{"serve"}, []string(cfg.Cmd))
				assert.Equal(t, []string{"/app"}, []string(cfg.Entrypoint))
				assert.Equal(t, []string{"A=1"}, cfg.Env)
				assert.Equal(t, map[string]string{"service": "app"}, cfg.Labels)
				assert.Equal(t, "1000:1000", cfg.User)
				assert.Equal(t, "/srv", cfg.WorkingDir)
				require.NotNil(t, cfg.StopTimeout)
				assert.Equal(t, 2, *cfg.StopTimeout, "rounded up to whole seconds")
				assert.Nil(t, net, "no network means the default bridge")
			},
		},
		{
			name: "leaves the image's command and stop timeout alone when unset",
			spec: ContainerSpec{Image: "app:v1"},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig) {
				assert.Nil(t, cfg.Cmd)
				assert.Nil(t, cfg.Entrypoint)
				assert.Nil(t, cfg.StopTimeout)
				assert.Equal(t, container.RestartPolicy{Name: "no"}, host.RestartPolicy)
				assert.Nil(t, host.Init)
				assert.Empty(t, host.PortBindings)
			},
		},
		{
			name: "publishes ports and exposes them",
			spec: ContainerSpec{Image: "app:v1", Ports: []string{"80:80", "127.0.0.1:8080:3000/tcp", "53:53/udp", "[::1]:9090:9090"}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig) {
				port := network.MustParsePort
				assert.Equal(t, network.PortSet{port("80/tcp"): {}, port("3000/tcp"): {}, port("53/udp"): {}, port("9090/tcp"): {}}, cfg.ExposedPorts)
				assert.Equal(t, network.PortMap{
					port("80/tcp"):   {{HostPort: "80"}},
					port("3000/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "8080"}},
					port("53/udp"):   {{HostPort: "53"}},
					port("9090/tcp"): {{HostIP: netip.IPv6Loopback(), HostPort: "9090"}},
				}, host.PortBindings)
			},
		},
		{
			name: "joins the network under its aliases",
			spec: ContainerSpec{Image: "app:v1", Network: "slipway", NetworkAliases: []string{"app-web"}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig) {
				assert.Equal(t, container.NetworkMode("slipway"), host.NetworkMode)
				require.NotNil(t, net)
				require.Contains(t, net.EndpointsConfig, "slipway")
				assert.Equal(t, []string{"app-web"}, net.EndpointsConfig["slipway"].Aliases)
			},
		},
		{
			name: "sets binds, limits, logging, hosts, restart and init",
			spec: ContainerSpec{
				Image: "app:v1", Volumes: []string{"data:/data", "/etc/app:/etc/app:ro"},
				Memory: 256 << 20, CPUs: 1.5, LogOptions: map[string]string{"max-size": "10m"},
				ExtraHosts: []string{"db:10.0.0.5"}, Restart: "on-failure:3", Init: true,
			},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig) {
				assert.Equal(t, []string{"data:/data", "/etc/app:/etc/app:ro"}, host.Binds)
				assert.Equal(t, int64(256<<20), host.Memory)
				assert.Equal(t, int64(1_500_000_000), host.NanoCPUs)
				assert.Equal(t, container.LogConfig{Config: map[string]string{"max-size": "10m"}}, host.LogConfig)
				assert.Equal(t, []string{"db:10.0.0.5"}, host.ExtraHosts)
				assert.Equal(t, container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}, host.RestartPolicy)
				assert.Equal(t, &yes, host.Init)
			},
		},
		{name: "needs an image", spec: ContainerSpec{Name: "web"}, wantErr: "no image given"},
		{name: "rejects a port that is not a number", spec: ContainerSpec{Image: "a", Ports: []string{"80:http"}}, wantErr: "ports: "},
		{name: "rejects an unknown protocol", spec: ContainerSpec{Image: "a", Ports: []string{"80:80/icmp"}}, wantErr: "ports: "},
		{name: "rejects a bad host address", spec: ContainerSpec{Image: "a", Ports: []string{"1.2.3:80:80"}}, wantErr: "ports: "},
		{name: "rejects aliases without a network", spec: ContainerSpec{Image: "a", NetworkAliases: []string{"web"}}, wantErr: "network aliases need a network"},
		{name: "rejects a bad restart policy", spec: ContainerSpec{Image: "a", Restart: "sometimes"}, wantErr: `restart policy "sometimes"`},
		{name: "rejects negative limits", spec: ContainerSpec{Image: "a", Memory: -1}, wantErr: "cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, host, net, err := tt.spec.config()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, cfg, host, net)
		})
	}
}

func TestParseRestart(t *testing.T) {
	tests := []struct {
		in      string
		want    container.RestartPolicy
		wantErr bool
	}{
		{in: "", want: container.RestartPolicy{Name: "no"}},
		{in: "no", want: container.RestartPolicy{Name: "no"}},
		{in: "always", want: container.RestartPolicy{Name: "always"}},
		{in: "unless-stopped", want: container.RestartPolicy{Name: "unless-stopped"}},
		{in: "on-failure", want: container.RestartPolicy{Name: "on-failure"}},
		{in: "on-failure:5", want: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 5}},
		{in: "on-failure:-1", wantErr: true},
		{in: "on-failure:x", wantErr: true},
		{in: "always:3", wantErr: true},
		{in: ":3", wantErr: true},
		{in: "Always", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRestart(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSpecNeverShowsEnvValues(t *testing.T) {
	spec := ContainerSpec{Name: "web", Image: "app:v1", Env: []string{"DB_PASSWORD=hunter2", "TOKEN=s3cr3t=x", "BARE"}}
	for _, s := range []string{spec.String(), fmt.Sprint(spec), fmt.Sprintf("%v %+v %#v %s", spec, spec, spec, spec)} {
		assert.NotContains(t, s, "hunter2")
		assert.NotContains(t, s, "s3cr3t")
	}
	assert.Equal(t, "container web (image app:v1, env DB_PASSWORD,TOKEN,BARE)", spec.String())

	_, _, _, err := ContainerSpec{Env: spec.Env, Ports: []string{"x"}}.config()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}
