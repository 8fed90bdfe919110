/**
 * One analysis: its script in a code editor, runs with a scope, the console live, the run
 * queue, its settings and environment, and its token. Each card is its own module
 * (pages/analysis/*); this page loads the analysis and lays them out.
 */
import type { AnalysisInfoJson } from "../../../src/http/api_types.js";
import { del, get, seg } from "../api/client.js";
import { InlineConfirm } from "../components/inline_confirm.js";
import { ErrorText } from "../components/error_text.js";
import { PageHeader } from "../components/page_header.js";
import { useApi } from "../hooks/use_api.js";
import { navigate } from "../router.js";
import type { PageProps } from "../routes.js";
import { ConsoleCard } from "./analysis/console_card.js";
import { RunCard } from "./analysis/run_card.js";
import { ScriptCard } from "./analysis/script_card.js";
import { SettingsCard } from "./analysis/settings_card.js";
import { TokenCard } from "./analysis/token_card.js";
import "../styles/panels.css";
import "../styles/analysis.css";

export interface AnalysisCardProps {
  analysis: AnalysisInfoJson;
  /** Loads the analysis again after a card changed it. */
  reload: () => void;
}

export default function AnalysisPage({ params }: PageProps) {
  const id = params.id!;
  const info = useApi((signal) => get<AnalysisInfoJson>(`/analysis/${seg(id)}`, undefined, signal), [id]);
  const analysis = info.data?.id === id ? info.data : undefined;
  const remove = async () => {
    await del(`/analysis/${seg(id)}`);
    navigate("/analyses", { replace: true });
  };
  return (
    <section class="analysis-page">
      <PageHeader title={analysis?.name ?? "Analysis"}>
        {analysis && <span class={analysis.active ? "pill ok" : "pill"}>{analysis.active ? "Active" : "Inactive"}</span>}
        <a href="#/analyses" class="btn">
          All analyses
        </a>
        <InlineConfirm label="Delete" question="Delete this analysis, its script and its token?" onConfirm={remove} disabled={!analysis} />
      </PageHeader>
      <ErrorText error={info.error} />
      {!analysis ? (
        !info.error && <p class="muted" aria-busy="true">Loading…</p>
      ) : (
        <div class="panel-grid">
          <div class="panel-col">
            <ScriptCard key={id} analysis={analysis} reload={info.reload} />
            <SettingsCard key={id} analysis={analysis} reload={info.reload} />
          </div>
          <div class="panel-col">
            <RunCard key={id} analysis={analysis} reload={info.reload} />
            <ConsoleCard key={id} analysisId={id} />
            <TokenCard analysis={analysis} reload={info.reload} />
          </div>
        </div>
      )}
    </section>
  );
}
