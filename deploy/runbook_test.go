package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/slipwayhq/slipway/health"
)

func TestRunbookCurlsTheRealHealthCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		px   Proxy
		want string
	}{
		{"the default path on port 80", Proxy{}, "curl -s -o /dev/null -w '%{http_code}' http://203.0.113.10/up"},
		{"the app's own path, by host name", Proxy{Hosts: []string{"shop.example.com"}, Health: health.HTTP{Path: "/healthz"}},
			"curl -s -o /dev/null -w '%{http_code}' -H 'Host: shop.example.com' http://203.0.113.10/healthz"},
		{"the published HTTP port", Proxy{HTTPPort: 8080, Health: health.HTTP{Path: "/status"}},
			"curl -s -o /dev/null -w '%{http_code}' http://203.0.113.10:8080/status"},
		{"over HTTPS with TLS, where plain HTTP only redirects",
			Proxy{Hosts: []string{"shop.example.com"}, TLS: true, Health: health.HTTP{Path: "/healthz"}},
			"curl -s -o /dev/null -w '%{http_code}' --resolve shop.example.com:443:203.0.113.10 https://shop.example.com/healthz"},
		{"on the published HTTPS port",
			Proxy{Hosts: []string{"shop.example.com"}, TLS: true, HTTPSPort: 8443},
			"curl -s -o /dev/null -w '%{http_code}' --resolve shop.example.com:8443:203.0.113.10 https://shop.example.com:8443/up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, healthCurl(&tc.px, "203.0.113.10"))
		})
	}

	a := recoveryTestApp()
	a.Roles["web"].Proxy.Health.Path = "/healthz"
	assert.Equal(t, "`curl -s -o /dev/null -w '%{http_code}' http://203.0.113.10/healthz` answers 200", a.healthCheckText())
}
