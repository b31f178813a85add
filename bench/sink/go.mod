module local.kobling/sink

go 1.26.8
