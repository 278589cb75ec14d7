package image_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/internal/lab"
)

func TestRegistryFreeDeliverySendsOnlyWhatHostsLack(t *testing.T) {
	l := lab.Require(t, 3)
	ts := targets(t, l, 3)
	repo := uniqueRepo(t, ts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := writeApp(t, t.TempDir(), "r1", 8<<20)

	built, err := goApp(dir).Build(ctx, nil, nil)
	require.NoError(t, err)
	defer built.Close()
	layers, _ := built.Images[image.DefaultPlatform].Layers()
	require.Len(t, layers, 2, "a data layer and the binary's")
	dataSize, _ := layers[0].Size()
	binSize, _ := layers[1].Size()
	t.Logf("image: data layer %s, binary layer %s", mb(dataSize), mb(binSize))

	res, err := image.Deliver(ctx, built, repo+":r1", ts, image.Options{Output: os.Stdout})
	require.NoError(t, err)
	for _, r := range res {
		t.Logf("first delivery to %s: %s in %d layers, %s", r.Host, mb(r.Bytes), r.Layers, r.Duration.Round(time.Millisecond))
		assert.False(t, r.Present)
		assert.Equal(t, 2, r.Layers)
		assert.GreaterOrEqual(t, r.Bytes, dataSize+binSize, "every layer went to %s", r.Host)
		img, err := ts[0].Engine.ImageInspect(ctx, repo+":r1")
		require.NoError(t, err)
		id, _ := built.ID(image.DefaultPlatform)
		assert.Equal(t, id, img.ID)
	}

	res, err = image.Deliver(ctx, built, repo+":r1", ts, image.Options{Output: os.Stdout})
	require.NoError(t, err)
	t.Logf("same image again: %d bytes to 3 hosts", sentBytes(res))
	for _, r := range res {
		assert.True(t, r.Present, "%s already holds the image", r.Host)
		assert.Zero(t, r.Bytes)
	}

	writeApp(t, dir, "r2", 0) // only the code changes
	built2, err := goApp(dir).Build(ctx, nil, nil)
	require.NoError(t, err)
	defer built2.Close()
	layers2, _ := built2.Images[image.DefaultPlatform].Layers()
	binSize2, _ := layers2[1].Size()
	res, err = image.Deliver(ctx, built2, repo+":r2", ts, image.Options{Output: os.Stdout})
	require.NoError(t, err)
	for _, r := range res {
		t.Logf("code-only change to %s: %s in %d layer (binary layer %s, data layer %s not sent)", r.Host, mb(r.Bytes), r.Layers, mb(binSize2), mb(dataSize))
		assert.Equal(t, 1, r.Layers, "only the binary's layer went to %s", r.Host)
		assert.Less(t, r.Bytes, dataSize/2)
		assert.GreaterOrEqual(t, r.Bytes, binSize2)
	}
}
