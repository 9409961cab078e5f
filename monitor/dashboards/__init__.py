"""The Grafana dashboards as code: panels, and the dashboards that `giaoban dashboards export` writes."""
