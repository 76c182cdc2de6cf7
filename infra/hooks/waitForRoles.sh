#!/bin/sh
# azd postprovision hook. New role assignments take a few minutes to apply: until then storing the key
# answers ForbiddenByRbac and the CLI (or the package upload) 403. Waits, up to 5 minutes, until the
# deploying user's Key Vault role (and, when the deploying user is the operator, the storage roles) answer.
# azd passes the environment's values and infra outputs as variables.
command -v az >/dev/null 2>&1 || { echo "roles: az is not installed, not waiting; new roles can take a few minutes to apply"; exit 0; }
[ -n "${AZURE_PRINCIPAL_ID:-}" ] || exit 0
ready() {
  az keyvault secret list --vault-name "$AZURE_KEY_VAULT_NAME" --output none 2>/dev/null || return 1
  [ "${OPERATOR_PRINCIPAL_ID:-}" = "$AZURE_PRINCIPAL_ID" ] || return 0
  az storage queue list --auth-mode login --account-name "$AZURE_STORAGE_ACCOUNT_NAME" --output none 2>/dev/null
}
i=0
until ready; do
  i=$((i + 1))
  if [ "$i" -gt 30 ]; then
    echo "roles: still not in effect after 5 minutes; wait a few more minutes before storing the key or using the CLI" >&2
    exit 0
  fi
  echo "roles: not in effect yet, checking again in 10 s ($i/30)"
  sleep 10
done
echo "roles: in effect"
