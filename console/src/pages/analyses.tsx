import { PageHeader } from "../components/page_header.js";

// Placeholder until this page is built.
export default function Page() {
  return <PageHeader title="analyses" />;
}
