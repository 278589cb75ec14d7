package engine

import (
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpecGivesTheEngineItsLogDriver(t *testing.T) {
	_, host, _, err := ContainerSpec{Image: "app:v1", LogDriver: "local", LogOptions: map[string]string{"max-size": "1m"}}.config()
	require.NoError(t, err)
	assert.Equal(t, container.LogConfig{Type: "local", Config: map[string]string{"max-size": "1m"}}, host.LogConfig)

	_, host, _, err = ContainerSpec{Image: "app:v1"}.config()
	require.NoError(t, err)
	assert.Empty(t, host.LogConfig.Type, "no driver leaves the engine's default")
}
