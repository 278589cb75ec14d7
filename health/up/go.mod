module github.com/slipwayhq/slipway/health/up

go 1.26.0
