/**
 * The analysis token (an account token of the account: docs/analysis.md), masked until shown;
 * regenerating it (`GET /analysis/:id/token`) ends the old one and every stream it holds.
 */
import { useState } from "preact/hooks";
import { get, seg } from "../../api/client.js";
import { InlineConfirm } from "../../components/inline_confirm.js";
import { SecretText } from "../../components/secret_text.js";
import type { AnalysisCardProps } from "../analysis.js";

export function TokenCard({ analysis, reload }: AnalysisCardProps) {
  const [renewed, setRenewed] = useState(false);
  const regenerate = async () => {
    await get<{ analysis_token: string }>(`/analysis/${seg(analysis.id)}/token`);
    setRenewed(true);
    reload();
  };
  return (
    <section class="card token-card" aria-labelledby="token-title">
      <h2 id="token-title">Analysis token</h2>
      <p class="hint">The script gets it as <code>context.token</code>; it has the account's rights. An external runner connects with it.</p>
      <SecretText value={analysis.token} label="analysis token" />
      {renewed && (
        <p class="ok small" role="status">
          A new token was made: the old one no longer works, and runners using it must switch.
        </p>
      )}
      <div class="form-actions">
        <InlineConfirm label="Regenerate token" question="Make a new token? The current one stops working at once." confirmLabel="Yes, regenerate" onConfirm={regenerate} />
      </div>
    </section>
  );
}
