package billing_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesdk/edge"
	"github.com/edgesdk/edge/edgetest"
	billing "github.com/edgesdk/edge/examples/edgetest-usage"
)

// TestMain stops the Vault edgetest starts, once every test is done.
func TestMain(m *testing.M) { edgetest.Main(m) }

// orgWithStripe makes a fresh org with an admin, a member and an
// outsider (a user of no org), each with a session on the org.
func orgWithStripe(t *testing.T) (admin, member, outsider *edge.Session) {
	t.Helper()
	v := edgetest.Start(t)
	carol, alice, dave := v.NewUser(t), v.NewUser(t), v.NewUser(t)
	org := v.NewOrg(t, carol)
	v.AddMember(t, org, alice)
	return v.Session(t, carol, org), v.Session(t, alice, org), v.Session(t, dave, org)
}

func TestMemberReadsWhatAdminWrote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, member, _ := orgWithStripe(t)

	_, err := billing.Stripe(ctx, member.Secrets)
	assert.ErrorIs(t, err, billing.ErrNotConfigured)

	want := billing.StripeConfig{APIKey: "sk_test_123", WebhookSecret: "whsec_1"}
	require.NoError(t, billing.SetStripe(ctx, admin.Secrets, want))
	got, err := billing.Stripe(ctx, member.Secrets)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	// The admin replaces it; the member sees the new one.
	want = billing.StripeConfig{APIKey: "sk_live_456", Live: true}
	require.NoError(t, billing.SetStripe(ctx, admin.Secrets, want))
	got, err = billing.Stripe(ctx, member.Secrets)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.NotContains(t, fmt.Sprint(got), "sk_live_456")
}

func TestOnlyAdminsWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, member, outsider := orgWithStripe(t)
	for name, sess := range map[string]*edge.Session{"member": member, "outsider": outsider} {
		err := billing.SetStripe(ctx, sess.Secrets, billing.StripeConfig{APIKey: "sk_test_mine"})
		assert.ErrorIs(t, err, edge.ErrPermissionDenied, name)
	}
}

func TestOutsiderDenied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, _, outsider := orgWithStripe(t)
	require.NoError(t, billing.SetStripe(ctx, admin.Secrets, billing.StripeConfig{APIKey: "sk_test_123"}))

	_, err := billing.Stripe(ctx, outsider.Secrets)
	assert.ErrorIs(t, err, edge.ErrPermissionDenied)
	assert.False(t, errors.Is(err, billing.ErrNotConfigured), "denied is not the same as not configured")
}

// TestRefusesBadConfig: a malformed value in Vault (written by another
// tool, say) is an error, not a half-filled config.
func TestRefusesBadConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin, member, _ := orgWithStripe(t)

	err := billing.SetStripe(ctx, admin.Secrets, billing.StripeConfig{APIKey: "sk_test_123", Live: true})
	assert.ErrorContains(t, err, "must start with sk_live_")

	require.NoError(t, admin.Secrets.CreateOrgSecret(ctx, billing.SecretName, edge.Secret{"api_key": "sk_test_1", "typo": true}))
	_, err = billing.Stripe(ctx, member.Secrets)
	assert.ErrorIs(t, err, edge.ErrBadEntry)
}
