package targets

import (
	"context"
	"fmt"

	"github.com/magefile/mage/mg"
)

// App takes the app's web roles out of service and back, for incidents.
type App mg.Namespace

// Maintenance answers every request with a 503 page (-message) until app:live, on every web host.
func (App) Maintenance(ctx context.Context, message, role, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	msg := ""
	if message != nil {
		msg = *message
	}
	var roles []string
	if role != nil && *role != "" {
		roles = []string{*role}
	}
	if err := s.Maintenance(ctx, msg, 0, roles...); err != nil {
		return exit(err)
	}
	fmt.Fprintln(output(), "in maintenance: run app:live to serve traffic again")
	return nil
}

// Live puts web roles in maintenance back in service on every host.
func (App) Live(ctx context.Context, role, destination *string) error {
	s, err := connect(ctx, destination)
	if err != nil {
		return exit(err)
	}
	defer s.Close()
	var roles []string
	if role != nil && *role != "" {
		roles = []string{*role}
	}
	return exit(s.Live(ctx, roles...))
}
