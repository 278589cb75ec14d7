package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryAddr(t *testing.T) {
	for _, tc := range []struct {
		ref      string
		insecure bool
		want     string
	}{
		{"hello:v1", false, "registry-1.docker.io:443"},
		{"acme/hello:v1", false, "registry-1.docker.io:443"},
		{"ghcr.io/acme/hello:v1", false, "ghcr.io:443"},
		{"localhost/hello:v1", false, "localhost:443"},
		{"localhost:5000/hello:v1", false, "localhost:5000"},
		{"10.250.1.1:5000/hello@sha256:abc", false, "10.250.1.1:5000"},
		{"registry.internal/hello:v1", true, "registry.internal:80"},
	} {
		assert.Equal(t, tc.want, registryAddr(tc.ref, tc.insecure), tc.ref)
	}
}

func TestParseDF(t *testing.T) {
	free, dir, err := parseDF([]byte("/dev/sda1   102400000 30000000  72400000  30% /var/lib/docker\n"))
	require.NoError(t, err)
	assert.Equal(t, int64(72400000)<<10, free)
	assert.Equal(t, "/var/lib/docker", dir)
	_, _, err = parseDF([]byte("df: /var/lib/docker: No such file\n"))
	assert.ErrorContains(t, err, "unexpected df output")
}

func TestImageTag(t *testing.T) {
	assert.Equal(t, "v0.9.2", imageTag("basecamp/kamal-proxy:v0.9.2"))
	assert.Equal(t, "localhost:5000/kamal-proxy", imageTag("localhost:5000/kamal-proxy"))
}

func TestPlural(t *testing.T) {
	assert.Equal(t, []string{"1 host", "2 hosts", "1 batch", "3 batches", "0 secrets"},
		[]string{plural(1, "host", "hosts"), plural(2, "host", "hosts"), plural(1, "batch", "batches"), plural(3, "batch", "batches"), plural(0, "secret", "secrets")})
}
