package deploy

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/secret"
)

// overlayEverything changes every part of the App it can reach, in place.
func overlayEverything(a *App) {
	a.Service = "other"
	web := a.Roles["web"]
	web.Servers[0].Host = "10.9.9.9"
	web.Servers[0].Labels["zone"] = "b"
	web.Servers[0].KeyFiles[0] = "/other/key"
	web.Servers[0].Jump.Host = "other-bastion"
	web.Proxy.Hosts[0] = "staging.example.com"
	web.Proxy.AppPort = 4000
	web.Options.ExtraHosts[0] = "db:10.9.9.9"
	web.Env.Clear["MODE"] = "staging"
	web.Env.Secret[0] = "STAGING_TOKEN"
	web.Labels["tier"] = "staging"
	web.Cmd[0] = "/other"
	a.Roles["web"] = web
	a.Roles["jobs"].Health.(health.Command).Cmd[0] = "/other-check"
	delete(a.Roles, "jobs")
	a.Roles["extra"] = Role{Servers: Hosts("10.9.9.8")}
	a.Env.Clear["DATABASE_PATH"] = "/data/staging.db"
	a.Env.Secret[0] = "STAGING_KEY"
	a.Volumes[0] = "staging-data:/data"
	a.Labels["app"] = "staging"
	a.Migrate.Cmd[0] = "/other"
	a.Secrets.(secret.Command).Args[0] = "other-pm"
	a.Destinations["new"] = nil
}

// destinationApp is an App with every kind of map, slice and pointer set.
func destinationApp() App {
	return App{
		Service: "hello",
		Image:   "ghcr.io/acme/hello",
		Roles: Roles{
			"web": {
				Servers: []Server{{
					Host: "10.0.0.1", Labels: map[string]string{"zone": "a"}, KeyFiles: []string{"/key"},
					Jump: &Server{Host: "bastion"},
				}},
				Proxy:   &Proxy{Hosts: []string{"hello.example.com"}, AppPort: 3000},
				Options: ContainerOptions{ExtraHosts: []string{"db:10.0.0.9"}},
				Env:     Env{Clear: map[string]string{"MODE": "web"}, Secret: []string{"WEB_TOKEN"}},
				Labels:  map[string]string{"tier": "web"},
				Cmd:     []string{"/hello", "serve"},
			},
			"jobs": {Servers: Hosts("10.0.0.2"), Health: health.Command{Cmd: []string{"/check"}}},
		},
		Env:     Env{Clear: map[string]string{"DATABASE_PATH": "/data/hello.db"}, Secret: []string{"SECRET_KEY_BASE"}},
		Volumes: []string{"hello-data:/data"},
		Labels:  map[string]string{"app": "hello"},
		Migrate: &Migrate{Cmd: []string{"/hello", "migrate"}},
		Secrets: secret.Command{Args: []string{"pm", "{name}"}},
		Destinations: map[string]func(*App){
			"staging":    overlayEverything,
			"production": nil,
		},
	}
}

func TestForDestination(t *testing.T) {
	t.Run("applies the overlay and names the destination", func(t *testing.T) {
		a := destinationApp()
		got, err := a.ForDestination("staging")
		require.NoError(t, err)
		assert.Equal(t, "staging", got.Destination)
		assert.Equal(t, "other", got.Service)
		assert.Equal(t, "10.9.9.9", got.Roles["web"].Servers[0].Host)
		assert.Equal(t, "staging.example.com", got.Roles["web"].Proxy.Hosts[0])
		assert.Contains(t, got.Roles, "extra")
		assert.NotContains(t, got.Roles, "jobs")
	})

	t.Run("leaves the base App unchanged", func(t *testing.T) {
		a := destinationApp()
		_, err := a.ForDestination("staging")
		require.NoError(t, err)
		want := destinationApp()
		// Funcs cannot be compared; everything else must be as it was.
		assert.Equal(t, sortedKeys(want.Destinations), sortedKeys(a.Destinations))
		a.Destinations, want.Destinations = nil, nil
		assert.Equal(t, want, a)
	})

	t.Run("changes nothing but the destination for a nil overlay", func(t *testing.T) {
		a := destinationApp()
		got, err := a.ForDestination("production")
		require.NoError(t, err)
		assert.Equal(t, "production", got.Destination)
		got.Destination, got.Destinations, a.Destinations = "", nil, nil
		assert.Equal(t, a, got)
	})

	t.Run("returns a copy of the base for no destination", func(t *testing.T) {
		a := destinationApp()
		got, err := a.ForDestination("")
		require.NoError(t, err)
		assert.Empty(t, got.Destination)
		overlayEverything(&got)
		want := destinationApp()
		a.Destinations, want.Destinations = nil, nil
		assert.Equal(t, want, a)
	})

	t.Run("lists the known destinations for an unknown one", func(t *testing.T) {
		_, err := destinationApp().ForDestination("prod")
		require.EqualError(t, err, `unknown destination "prod"; known destinations: production, staging`)

		_, err = App{}.ForDestination("prod")
		require.EqualError(t, err, `unknown destination "prod": the app has no destinations`)
	})

	t.Run("copies a cycle of bastions without looping", func(t *testing.T) {
		a := validApp()
		b := &Server{Host: "bastion"}
		b.Jump = b
		a.Roles["jobs"].Servers[0].Jump = b
		c := a.Clone()
		c.Roles["jobs"].Servers[0].Jump.Host = "changed"
		assert.Equal(t, "bastion", b.Host)
	})
}

// fill sets every field it can reach in v (a settable value) to a
// non-zero value, following pointers, slices, maps and interfaces, so a
// field added to App later is covered without changing this test.
// Interface fields get one of Slipway's own implementations that holds
// slices or maps (the ones Clone must copy); an interface it has none
// for fails the test, so that a new one is thought about.
func fill(t *testing.T, v reflect.Value, depth int) {
	t.Helper()
	if depth > 10 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strconv.Itoa(depth))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(depth + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(depth + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(depth) + 0.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, depth+1)
		fill(t, e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Func:
		v.Set(reflect.MakeFunc(v.Type(), func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, v.Type().NumOut())
			for i := range out {
				out[i] = reflect.Zero(v.Type().Out(i))
			}
			return out
		}))
	case reflect.Interface:
		for _, impl := range []any{
			secret.Command{}, health.Command{}, image.Go{}, &bytes.Buffer{},
		} {
			iv := reflect.New(reflect.TypeOf(impl)).Elem()
			if !iv.Type().Implements(v.Type()) {
				continue
			}
			if iv.Kind() != reflect.Pointer {
				fill(t, iv, depth+1)
			} else {
				iv.Set(reflect.New(iv.Type().Elem()))
			}
			v.Set(iv)
			return
		}
		t.Errorf("fill: no value for interface %s; add one of Slipway's implementations (and copy it in Clone)", v.Type())
	}
}

// mutate changes, in place, everything reachable from v that a copy
// could share with its original: the elements of slices and maps, the
// targets of pointers and what interfaces hold.
func mutate(v reflect.Value, depth int) {
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + "!")
		}
	case reflect.Bool:
		if v.CanSet() {
			v.SetBool(!v.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.CanSet() {
			v.SetInt(v.Int() + 100)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.CanSet() {
			v.SetUint(v.Uint() + 100)
		}
	case reflect.Float32, reflect.Float64:
		if v.CanSet() {
			v.SetFloat(v.Float() + 100)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			mutate(v.Elem(), depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				mutate(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			mutate(v.Index(i), depth+1)
		}
	case reflect.Map:
		if v.IsNil() {
			return // a nil map shares nothing
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutate(e, depth+1)
			v.SetMapIndex(k, e)
		}
		k := reflect.New(v.Type().Key()).Elem()
		if k.Kind() == reflect.String {
			k.SetString("added")
			v.SetMapIndex(k, reflect.New(v.Type().Elem()).Elem())
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		inner := v.Elem()
		if inner.Kind() == reflect.Pointer {
			mutate(inner, depth+1)
			return
		}
		c := reflect.New(inner.Type()).Elem()
		c.Set(inner)
		mutate(c, depth+1)
		if v.CanSet() {
			v.Set(c)
		}
	}
}

// dump writes everything reachable from v, pointers followed and map
// keys sorted, so two dumps are equal exactly when the values are.
func dump(b *strings.Builder, v reflect.Value, depth int) {
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		fmt.Fprintf(b, "%s(", v.Elem().Type())
		dump(b, v.Elem(), depth+1)
		b.WriteString(")")
	case reflect.Struct:
		b.WriteString("{")
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fmt.Fprintf(b, "%s:", v.Type().Field(i).Name)
				dump(b, v.Field(i), depth+1)
				b.WriteString(" ")
			}
		}
		b.WriteString("}")
	case reflect.Slice:
		b.WriteString("[")
		for i := range v.Len() {
			dump(b, v.Index(i), depth+1)
			b.WriteString(" ")
		}
		b.WriteString("]")
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
		b.WriteString("map[")
		for _, k := range keys {
			fmt.Fprintf(b, "%v:", k)
			dump(b, v.MapIndex(k), depth+1)
			b.WriteString(" ")
		}
		b.WriteString("]")
	case reflect.Func:
		fmt.Fprintf(b, "func(nil=%t)", v.IsNil())
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

func dumped(a App) string {
	var b strings.Builder
	dump(&b, reflect.ValueOf(a), 0)
	return b.String()
}

// An overlay that changes every field of the App, reached through
// reflection (so fields added later are covered too), leaves the base
// App exactly as it was.
func TestAnOverlayNeverChangesTheBase(t *testing.T) {
	var base App
	fill(t, reflect.ValueOf(&base).Elem(), 0)
	base.Destinations = map[string]func(*App){"staging": func(a *App) { mutate(reflect.ValueOf(a).Elem(), 0) }}
	before := dumped(base)
	require.Contains(t, before, "secret.Command", "the filled App holds Slipway's secret source")
	require.Contains(t, before, "Replica", "and a replicated database")

	staging, err := base.ForDestination("staging")
	require.NoError(t, err)
	assert.NotEqual(t, before, dumped(staging), "the overlay changed its copy")
	assert.Equal(t, before, dumped(base), "the base App is unchanged")

	c := base.Clone()
	mutate(reflect.ValueOf(&c).Elem(), 0)
	assert.Equal(t, before, dumped(base), "a changed Clone leaves the App unchanged")
}
