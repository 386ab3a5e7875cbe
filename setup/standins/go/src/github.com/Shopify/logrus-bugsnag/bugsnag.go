// Package logrus_bugsnag is a small stand-in for github.com/Shopify/logrus-bugsnag, which Debian
// does not package: a logrus hook that reports error-level entries to Bugsnag.
package logrus_bugsnag

import (
	"errors"

	"github.com/bugsnag/bugsnag-go"
	"github.com/sirupsen/logrus"
)

type Hook struct{}

func NewBugsnagHook() (*Hook, error) { return &Hook{}, nil }

func (h *Hook) Fire(entry *logrus.Entry) error {
	return bugsnag.Notify(errors.New(entry.Message))
}

func (h *Hook) Levels() []logrus.Level {
	return []logrus.Level{logrus.ErrorLevel, logrus.FatalLevel, logrus.PanicLevel}
}
