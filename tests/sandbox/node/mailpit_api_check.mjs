// Drives a capture server with the npm Mailpit client, mailpit-api, exactly as a Node test
// suite written for Mailpit would, and prints what the client read as one JSON document.
// Run by tests/sandbox/test_mailpit_clients.py, which sends the mail first and checks the
// output: node mailpit_api_check.mjs http://127.0.0.1:PORT
import { MailpitClient } from "mailpit-api";

const baseURL = process.argv[2];
if (!baseURL) {
  console.error("usage: node mailpit_api_check.mjs BASE_URL");
  process.exit(2);
}
const mailpit = new MailpitClient(baseURL);

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return error.message;
  }
}

const report = {};
report.list = await mailpit.listMessages(0, 50);
report.search = await mailpit.searchMessages({ query: "subject:Welcome" });
report.waited = await mailpit.waitForMessage(
  { query: "to:ann@example.com" },
  { timeout: 10000, interval: 100 },
);
report.latest = await mailpit.getMessageSummary();

const welcomeID = report.search.messages[0].ID;
report.message = await mailpit.getMessageSummary(welcomeID);
report.headers = await mailpit.getMessageHeaders(welcomeID);
report.source = await mailpit.getMessageSource(welcomeID);
const attachment = report.message.Attachments[0];
const blob = await mailpit.getMessageAttachment(welcomeID, attachment.PartID);
report.attachment = { size: blob.size, type: blob.type, text: await blob.text() };

report.markUnreadReply = await mailpit.setReadStatus({ IDs: [welcomeID], Read: false });
report.afterMarkUnread = await mailpit.listMessages();
report.markAllReadReply = await mailpit.setReadStatus({ Read: true });
report.afterMarkAllRead = await mailpit.listMessages();

const invoiceID = report.list.messages.find((m) => m.Subject === "Invoice").ID;
report.deleteReply = await mailpit.deleteMessages({ IDs: [invoiceID] });
report.afterDelete = await mailpit.listMessages();
report.missingMessageError = await failure(mailpit.getMessageSummary("no-such-message"));
report.deleteAllReply = await mailpit.deleteMessages();
report.afterDeleteAll = await mailpit.listMessages();

// The wider API: info, webui, send, link check, views, tags, chaos and search actions.
report.info = await mailpit.getInfo();
report.webui = await mailpit.getConfiguration();
report.sent = await mailpit.sendMessage({
  From: { Email: "app@microblog.example", Name: "Microblog" },
  To: [{ Email: "ann@example.com", Name: "Ann" }],
  Bcc: ["hidden@example.com"],
  Subject: "Sent through the API",
  Text: `The inbox: ${baseURL}/ and an outside page: http://forbidden.example/x\n`,
  HTML: `<p><a href="${baseURL}/">inbox</a></p>`,
  Tags: ["api"],
  Attachments: [
    {
      Content: Buffer.from("hello").toString("base64"),
      Filename: "hello.txt",
      ContentType: "text/plain",
    },
  ],
});
report.sentMessage = await mailpit.getMessageSummary(report.sent.ID);
report.linkCheck = await mailpit.linkCheck(report.sent.ID);
report.renderedHTML = await mailpit.renderMessageHTML(report.sent.ID);
report.renderedEmbedded = await mailpit.renderMessageHTML(report.sent.ID, 1);
report.renderedText = await mailpit.renderMessageText(report.sent.ID);

report.setTagsReply = await mailpit.setTags({ IDs: [report.sent.ID], Tags: ["Billing", "urgent"] });
report.tagsAfterSet = await mailpit.getTags();
report.renameReply = await mailpit.renameTag("Billing", "Invoices 2026");
report.tagsAfterRename = await mailpit.getTags();
report.deleteTagReply = await mailpit.deleteTag("Invoices 2026");
report.tagsAfterDelete = await mailpit.getTags();

report.chaosBefore = await mailpit.getChaosTriggers();
report.chaosSet = await mailpit.setChaosTriggers({
  Recipient: { ErrorCode: 451, Probability: 100 },
});
report.chaosReset = await mailpit.setChaosTriggers();

await mailpit.sendMessage({
  From: { Email: "app@microblog.example" },
  To: [{ Email: "bob@example.com" }],
  Subject: "Second",
});
report.readBySearchReply = await mailpit.setReadStatus({ Search: "from:microblog", Read: true });
report.afterReadBySearch = await mailpit.listMessages();
report.unreadBySearchReply = await mailpit.setReadStatus({ Search: "subject:Second", Read: false });
report.afterUnreadBySearch = await mailpit.listMessages();
report.deleteBySearchReply = await mailpit.deleteMessagesBySearch({ query: "subject:Second" });
report.afterDeleteBySearch = await mailpit.listMessages();
report.infoAtEnd = await mailpit.getInfo();

process.stdout.write(JSON.stringify(report));
