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

func TestCheckErrorGroupsHosts(t *testing.T) {
	refused := func(h string) CheckResult {
		return CheckResult{Host: h, Name: "ssh", Status: CheckFailed, Detail: "connect to root@" + h + ":22: connection refused"}
	}
	t.Run("the configuration's lines, then the hosts grouped by reason", func(t *testing.T) {
		e := &CheckError{hosts: 30, Failed: []CheckResult{
			{Name: "secrets", Status: CheckFailed, Detail: "1 secret missing: API_TOKEN"},
			refused("10.250.2.2"),
			{Host: "10.250.3.2", Name: "disk", Status: CheckFailed, Detail: "1.2 GB free on /var/lib/docker: free some"},
			{Host: "10.250.3.2", Name: "lock", Status: CheckFailed, Detail: "held by alice"},
			refused("10.250.20.2"),
		}}
		assert.Equal(t, "config          secrets      FAIL 1 secret missing: API_TOKEN\n"+
			"3 of 30 hosts failed:\n"+
			"  10.250.2.2, 10.250.20.2: ssh: connect to root@<host>:22: connection refused\n"+
			"  10.250.3.2: disk: 1.2 GB free on /var/lib/docker: free some\n"+
			"    lock: held by alice", e.Error())
	})
	t.Run("one failed check on a host keeps its line", func(t *testing.T) {
		e := &CheckError{hosts: 6, Failed: []CheckResult{refused("10.250.2.2")}}
		assert.Equal(t, refused("10.250.2.2").String(), e.Error())
	})
}
