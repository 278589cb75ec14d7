package proxy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseList(t *testing.T) {
	cell := func(s string) string { return "\x1b[1;34m" + s + "\x1b[0m  " }
	out := cell("Service") + cell("Host") + cell("Path") + cell("Target") + cell("State") + cell("TLS") + "\n" +
		cell("hello-web") + cell("") + cell("/") + cell("hello-web-v2:3000") + cell("running") + cell("no") + "\n" +
		cell("api-web") + cell("api.example.com") + cell("/") + cell("api-web-v7:8080") + cell("stopped") + cell("yes") + "\n"
	routes, err := parseList(out)
	require.NoError(t, err)
	assert.Equal(t, []Route{
		{Service: "hello-web", Host: "", Path: "/", Target: "hello-web-v2:3000", State: "running", TLS: false},
		{Service: "api-web", Host: "api.example.com", Path: "/", Target: "api-web-v7:8080", State: "stopped", TLS: true},
	}, routes, "an empty host cell keeps the columns in place")

	_, err = parseList("header\nnot a table row\n")
	assert.ErrorContains(t, err, "unexpected line")
}

func TestBootPorts(t *testing.T) {
	for _, tc := range []struct {
		name string
		boot Boot
		want []string
	}{
		{"every address by default", Boot{}, []string{"80:80", "443:443"}},
		{"other host ports", Boot{HTTPPort: 8080, HTTPSPort: 8443}, []string{"8080:80", "8443:443"}},
		{"each bind address, IPv6 in brackets", Boot{BindIPs: []string{"10.0.0.5", "::1"}},
			[]string{"10.0.0.5:80:80", "10.0.0.5:443:443", "[::1]:80:80", "[::1]:443:443"}},
		{"HTTP/3 over UDP on the HTTPS port", Boot{HTTP3: true, HTTPSPort: 8443}, []string{"80:80", "8443:443", "8443:443/udp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.boot.Ports())
		})
	}
}

func TestServiceArgsLeaveKamalProxysDefaultsAlone(t *testing.T) {
	args := Service{Name: "s", Target: "s-v1:80", TLS: true}.Args()
	assert.Equal(t, []string{"kamal-proxy", "deploy", "s", "--target=s-v1:80", "--tls"}, args,
		"nil redirect, forwarded headers and prefix stripping are kamal-proxy's defaults, so no flag")
	off := false
	args = Service{Name: "s", Target: "s-v1:80", TLS: true, TLSRedirect: &off}.Args()
	assert.Contains(t, args, "--tls-redirect=false")
}
