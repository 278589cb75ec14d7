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
