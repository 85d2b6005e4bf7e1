import { request } from 'undici';
import { ProtocolloError, TramiteError } from '../../src/core/errors.js';
import { AdapterError, describeCertificate, discardBoundedBody, type AdapterContext, type BusMessage } from '../sdk/index.js';
import { checkImpronte, improntaOf } from './impronta.js';
import type { AnnullamentoRequest, InoltroRequest, ProtocolloOptions } from './protocollo-options.js';
import { ProtocolRegister, type Registration } from './register/protocol-register.js';
import { RelayLog } from './register/relay-log.js';
import { amministrazioneOfAoo, type Amministrazione, type Identificatore, type Segnatura } from './segnatura/segnatura-model.js';
import { readSegnatura } from './segnatura/segnatura-reader.js';
import { validateSegnaturaSchema } from './segnatura/segnatura-schema.js';
import { buildSegnaturaXml } from './segnatura/segnatura-writer.js';
import {
  buildAnnullamentoProtocollazioneXml,
  buildConfermaRicezioneXml,
  buildNotificaEccezioneXml,
  formatMotivo,
  readProtocolloMessage,
} from './segnatura/protocollo-messages.js';
import {
  FILE_NAMES,
  readProtocolloFiles,
  writeProtocolloFiles,
  xmlMessageFile,
  type ProtocolloFile,
} from './transport/protocollo-files.js';
import { invioPecXml, readMessaggioPec, signXades, verifyXades } from '../sdk/index.js';
import { ProtocolloSoapRelay, type SegnaturaChecks } from './protocollo-soap-relay.js';

/** How a PEC address is kept where a bus party would be (register, replies): `pec:ufficio@pec.ente.it`. */
const PEC_PARTY_PREFIX = 'pec:';

/** Bus actions of the protocollo service, one per message of the guideline. */
export const ACTIONS = {
  inoltro: 'MessaggioInoltro',
  conferma: 'ConfermaRicezione',
  eccezione: 'NotificaEccezione',
  annullamento: 'AnnullamentoProtocollazione',
} as const;

/** What the back office is told (POSTed as JSON to backOffice.url). */
export interface ProtocolloEvent {
  readonly evento: 'protocollato' | 'conferma' | 'eccezione' | 'annullamento' | 'pec';
  readonly registrazione?: Registration;
  /** The other AOO's identifier (the sender's registration, or the receiver's in a conferma). */
  readonly controparte?: Identificatore;
  readonly anomalia?: string;
  /**
   * protocollato: the documents registered without being checked (a 2013 or 2001 Segnatura gave them
   * no Impronta; see the withoutImpronta option). Absent when every document was checked.
   */
  readonly unchecked?: readonly string[];
  readonly segnatura?: Segnatura;
  readonly files?: ReadonlyArray<{ nomeFile: string; mimeType: string; contenuto: string }>;
  readonly messageId: string;
}

/**
 * One AOO on the bus: registers and seals what it sends (MessaggioInoltro), and checks, registers and
 * answers what it receives (ConfermaRicezione or NotificaEccezione with the anomaly code), keeping its
 * register in step with the other AOO's answers and cancellations.
 */
export class ProtocolloAoo implements SegnaturaChecks {
  readonly register: ProtocolRegister;
  /** Present when the AOO's own protocol system speaks the AgID SOAP interfaces. */
  readonly relay: ProtocolloSoapRelay | undefined;

  private constructor(
    private readonly ctx: AdapterContext<ProtocolloOptions>,
    register: ProtocolRegister,
    relayLog: RelayLog | undefined,
  ) {
    this.register = register;
    this.relay = ctx.options.soap && relayLog ? new ProtocolloSoapRelay(ctx, ctx.options.soap, this, relayLog) : undefined;
  }

  /** Opens the AOO's stores (`registro`, and `relay` when it has a protocol system of its own) through the context. */
  static async open(ctx: AdapterContext<ProtocolloOptions>): Promise<ProtocolloAoo> {
    const register = await ProtocolRegister.open(ctx.openStore, ctx.options.aoo, ctx.clock);
    ctx.log.info({ registro: ctx.options.aoo.codiceRegistro, at: register.location }, 'protocol register opened');
    try {
      return new ProtocolloAoo(ctx, register, ctx.options.soap ? await RelayLog.open(ctx.openStore) : undefined);
    } catch (err) {
      await register.close();
      throw err;
    }
  }

  async start(): Promise<void> {
    await this.relay?.start();
  }

  async close(): Promise<void> {
    await this.relay?.stop();
    await this.register.close();
  }

  // ------------------------------------------------------------------------------------------------
  // Sending

  /**
   * Registers a document, builds and seals its Segnatura (number, Segnatura and seal in one step), and
   * sends it with the documents. The document's shape is validated against the XSD first, with a
   * placeholder number, so a number is only issued for a Segnatura that will validate.
   */
  async inoltra(req: InoltroRequest): Promise<{ registrazione: Registration; messageId: string }> {
    if ((req.to === undefined) === (req.pec === undefined))
      throw new TramiteError(
        'TRAMITE_ERR_BAD_REQUEST',
        'give either "to" (the receiving AOO\'s bus party) or "pec" (its PEC address), not both',
      );
    const files = [req.documentoPrimario, ...req.allegati].map((d) => ({
      nomeFile: d.nomeFile,
      mimeType: d.mimeType,
      content: Buffer.from(d.contenuto, 'base64'),
    }));
    const names = new Set(files.map((f) => f.nomeFile));
    if (names.size !== files.length || names.has(FILE_NAMES.segnatura))
      throw new ProtocolloError('000_Irricevibile', `document names must be distinct and not ${FILE_NAMES.segnatura}`);
    const build = (identificatore: Identificatore) => this.seal(this.segnaturaFor(req, identificatore, files));
    const probe = await validateSegnaturaSchema(
      await build({
        ...this.ctx.options.aoo,
        numeroRegistrazione: '0000000',
        dataRegistrazione: '2000-01-01',
        oraRegistrazione: '00:00:00',
      }),
    );
    if (!probe.valid) throw new ProtocolloError('000_Irricevibile', `the Segnatura would not validate: ${probe.errors.join('; ')}`);
    const counterpart = req.to ?? `${PEC_PARTY_PREFIX}${req.pec!}`;
    const { registration, result: segnatura } = await this.register.register(
      { direction: 'out', oggetto: req.oggetto, party: counterpart },
      build,
    );
    const all = [{ nomeFile: FILE_NAMES.segnatura, mimeType: 'application/xml', content: Buffer.from(segnatura, 'utf8') }, ...files];
    const id = registration.identificatore;
    const messageId = req.to
      ? (
          await this.ctx.bus.send({
            to: req.to,
            service: this.ctx.options.service,
            action: ACTIONS.inoltro,
            payload: writeProtocolloFiles(all),
          })
        ).id
      : await this.sendByPec(
          req.pec!,
          ACTIONS.inoltro,
          all,
          `Prot. n. ${id.numeroRegistrazione} del ${id.dataRegistrazione}: ${req.oggetto.replace(/[\r\n]+/g, ' ')}`,
        );
    const registrazione = await this.register.update(registration.identificatore, { state: 'INVIATA', messageId });
    this.ctx.log.info(
      { numero: registrazione.identificatore.numeroRegistrazione, to: counterpart, id: messageId },
      'document registered and sent',
    );
    return { registrazione, messageId };
  }

  /** Cancels one of our registrations and tells the other AOO. */
  async annulla(req: AnnullamentoRequest): Promise<Registration> {
    const reg = await this.register.byNumber(req.anno, req.numero);
    if (!reg) throw new ProtocolloError('007_ErroreIdentificatoreNonTrovato', `no registration ${req.numero} of ${req.anno}`);
    const xml = buildAnnullamentoProtocollazioneXml({
      form: '2021',
      identificatore: reg.identificatore,
      motivo: req.motivo,
      provvedimento: req.provvedimento,
    });
    if (reg.party?.startsWith(PEC_PARTY_PREFIX)) {
      await this.sendByPec(reg.party.slice(PEC_PARTY_PREFIX.length), ACTIONS.annullamento, [
        { nomeFile: FILE_NAMES.annullamento, mimeType: 'application/xml', content: Buffer.from(xml) },
      ]);
    } else if (reg.party) {
      await this.ctx.bus.send({
        to: reg.party,
        service: this.ctx.options.service,
        action: ACTIONS.annullamento,
        payload: writeProtocolloFiles([{ nomeFile: FILE_NAMES.annullamento, mimeType: 'application/xml', content: Buffer.from(xml) }]),
      });
    }
    return this.register.update(reg.identificatore, { state: 'ANNULLATA' });
  }

  /** The guideline's PEC channel: the party's PEC adapter sends the files as attachments of one PEC. */
  private async sendByPec(address: string, action: string, files: readonly ProtocolloFile[], oggetto?: string): Promise<string> {
    const sent = await this.ctx.bus.send({
      to: this.ctx.party,
      service: this.ctx.options.pecServices.invio,
      payload: invioPecXml({
        destinatari: [address],
        oggetto: oggetto ?? action,
        testo: '',
        allegati: files.map((f) => ({ nome: f.nomeFile, mimeType: f.mimeType, contenuto: f.content })),
      }),
    });
    return sent.id;
  }

  private segnaturaFor(req: InoltroRequest, identificatore: Identificatore, files: readonly ProtocolloFile[]): Segnatura {
    const aoo = this.ctx.options.aoo;
    const [primario, ...allegati] = files.map((f) => ({ nomeFile: f.nomeFile, mimeType: f.mimeType, impronta: improntaOf(f.content) }));
    const mittente: Amministrazione = amministrazioneOfAoo(aoo);
    const destinatario: Amministrazione = amministrazioneOfAoo(req.destinatario);
    return {
      form: '2021',
      identificatore,
      oggetto: req.oggetto,
      classifica: { denominazione: req.classifica.denominazione, codice: { kind: 'flat', codice: req.classifica.codice } },
      mittente,
      destinatari: [{ soggetto: destinatario, confermaRicezione: req.confermaRicezione, perConoscenza: false }],
      documentoPrimario: primario!,
      allegati,
    };
  }

  private seal(s: Segnatura): Promise<string> {
    return signXades(buildSegnaturaXml(s), this.ctx.identity);
  }

  // ------------------------------------------------------------------------------------------------
  // Receiving

  /** A protocollo bus message for this AOO, or a PEC message its PEC adapter received. */
  async receive(message: BusMessage): Promise<void> {
    if (message.service === this.ctx.options.pecServices.ricezione) return this.receivePec(message);
    switch (message.action) {
      case ACTIONS.inoltro:
        return this.receiveInoltro(message);
      case ACTIONS.conferma:
      case ACTIONS.eccezione:
      case ACTIONS.annullamento:
        return this.receiveAnswer(message);
      default:
        throw AdapterError.refused(
          'TRAMITE_ERR_ADAPTER_REFUSED',
          `protocollo action ${message.action ?? '(none)'} is not one of ${Object.values(ACTIONS).join(', ')}`,
        );
    }
  }

  /**
   * The PEC channel of the guideline: a busta whose attachments are Segnatura.xml and the documents (or
   * Conferma.xml, Eccezione.xml, Annullamento.xml) is the same protocollo message as on the bus, from
   * the sender's PEC address. Other PEC mail is handed to the back office as it is.
   */
  private async receivePec(message: BusMessage): Promise<void> {
    const pec = readMessaggioPec(message.payload);
    const files = pec.allegati
      .filter((a) => a.nome !== undefined)
      .map((a) => ({ nomeFile: a.nome!, mimeType: a.mimeType, content: a.contenuto }));
    const names = new Set(files.map((f) => f.nomeFile));
    const action = names.has(FILE_NAMES.segnatura)
      ? ACTIONS.inoltro
      : names.has(FILE_NAMES.conferma)
        ? ACTIONS.conferma
        : names.has(FILE_NAMES.eccezione)
          ? ACTIONS.eccezione
          : names.has(FILE_NAMES.annullamento)
            ? ACTIONS.annullamento
            : undefined;
    if (pec.tipo !== 'posta-certificata' || action === undefined) {
      return this.notifyBackOffice({
        evento: 'pec',
        files: files.map((f) => ({ nomeFile: f.nomeFile, mimeType: f.mimeType, contenuto: f.content.toString('base64') })),
        messageId: message.id,
      });
    }
    // From here on it is a protocollo message whose counterpart is a PEC address, not a bus party.
    return this.receive({
      ...message,
      service: this.ctx.options.service,
      action,
      from: `${PEC_PARTY_PREFIX}${pec.mittente}`,
      payload: writeProtocolloFiles(files),
    });
  }

  /**
   * MessaggioInoltro: Segnatura valid (XSD) and sealed by the sending party, every Impronta right, sent
   * to this AOO → registered, handed to the back office, confirmed if asked; else NotificaEccezione.
   * A retry of the same bus message never registers it twice.
   */
  private async receiveInoltro(message: BusMessage): Promise<void> {
    const already = await this.register.byMessage('in', message.id);
    if (already) return this.deliverReceived(message, already);
    let segnatura: Segnatura | undefined;
    try {
      const files = readProtocolloFiles(message.payload);
      const file = files.find((f) => f.nomeFile === FILE_NAMES.segnatura);
      if (!file) throw new ProtocolloError('000_Irricevibile', `the message carries no ${FILE_NAMES.segnatura}`);
      segnatura = readSegnatura(file.content).segnatura;
      await this.checkSegnatura(file.content, segnatura, message.from);
      const { unchecked } = checkImpronte(segnatura, files, this.ctx.options.withoutImpronta ?? 'accept');
      if (!this.addressedToUs(segnatura))
        throw new ProtocolloError('000_Irricevibile', `the Segnatura names no Destinatario with AOO ${this.ctx.options.aoo.codiceAOO}`);
      if (this.relay?.deliversInbound) {
        // The AOO's protocol system registers it; its ConfermaMessaggioInoltro comes back through the relay.
        const anomalia = await this.relay.deliverInoltro(message, file.content, segnatura, files);
        if (anomalia) throw anomalia;
        return;
      }
      const { registration } = await this.register.register(
        {
          direction: 'in',
          oggetto: segnatura.oggetto,
          messageId: message.id,
          counterpart: segnatura.identificatore,
          party: message.from,
          unchecked,
          documents: files,
        },
        () => undefined,
      );
      this.ctx.log.info(
        { numero: registration.identificatore.numeroRegistrazione, from: message.from, id: message.id },
        'document received and registered',
      );
      if (unchecked.length > 0) {
        this.ctx.log.warn(
          { numero: registration.identificatore.numeroRegistrazione, form: segnatura.form, unchecked },
          'registered with documents the Segnatura gives no Impronta for: not checked',
        );
      }
      return this.deliverReceived(message, registration, segnatura, files);
    } catch (err) {
      if (!(err instanceof ProtocolloError)) throw err;
      this.ctx.log.warn(
        { id: message.id, from: message.from, code: err.code, err: err.message },
        'document refused: NotificaEccezione sent',
      );
      const xml = buildNotificaEccezioneXml({
        form: '2021',
        messaggioRicevuto: segnatura
          ? { kind: 'identificatore', identificatore: segnatura.identificatore }
          : { kind: 'descrizione', descrizioneMessaggio: `messaggio ${message.id}` },
        motivo: formatMotivo(err.code, err.message),
      });
      await this.reply(message, ACTIONS.eccezione, FILE_NAMES.eccezione, xml);
    }
  }

  /** XSD (2021, 2013), the seal (2021) and that it is `sender`'s own: 000 or 001 otherwise. */
  async checkSegnatura(bytes: Buffer, segnatura: Segnatura, sender: string): Promise<void> {
    if (segnatura.form === '2001') return; // no XML Schema exists for it; the reader's checks and the bus signature stand
    const schema = await validateSegnaturaSchema(bytes); // as bytes: decoded by its own declaration, like the reader did
    if (!schema.valid)
      throw new ProtocolloError(
        '000_Irricevibile',
        `the Segnatura does not match the official schema: ${schema.errors.slice(0, 3).join('; ')}`,
      );
    if (segnatura.form !== '2021') return; // the 2013 form carries no seal of its own
    let signer;
    try {
      const sealed = verifyXades(bytes, { trust: this.ctx.trust, at: this.ctx.clock.now() });
      // The seal's certificate and its CAs must not be revoked (the node's policy for their anchor).
      await this.ctx.revocation?.checkChain(sealed.chain, { role: 'Segnatura seal' });
      signer = sealed.signer;
    } catch (err) {
      if (err instanceof ProtocolloError) throw err;
      throw new ProtocolloError('001_ValidazioneFirma', (err as Error).message, { cause: err });
    }
    // Over PEC the sender is an address, authenticated by its provider's signature; over the bus the
    // seal must be the sending party's own, as the bus envelope's signature is.
    if (sender.startsWith(PEC_PARTY_PREFIX)) return;
    const cn = /(?:^|\n|,\s*)CN=([^\n,]+)/.exec(signer.subject)?.[1]?.trim();
    if (cn !== sender.split('/')[1])
      throw new ProtocolloError('001_ValidazioneFirma', `the Segnatura is sealed by ${describeCertificate(signer)}, not by ${sender}`);
  }

  private addressedToUs(s: Segnatura): boolean {
    const aoo = this.ctx.options.aoo;
    return s.destinatari.some(
      (d) =>
        d.soggetto.tipo === 'Amministrazione' &&
        d.soggetto.codiceIPAAmministrazione.codice === aoo.codiceAmministrazione &&
        (!d.soggetto.codiceIPAAOO || d.soggetto.codiceIPAAOO.codice === aoo.codiceAOO),
    );
  }

  /** Hands a registered document to the back office (again, on a retry), then confirms it if the sender asked. */
  private async deliverReceived(
    message: BusMessage,
    registration: Registration,
    segnatura?: Segnatura,
    files?: readonly ProtocolloFile[],
  ): Promise<void> {
    const read = segnatura && files ? { segnatura, files } : this.reread(message);
    await this.notifyBackOffice({
      evento: 'protocollato',
      registrazione: registration,
      ...(registration.counterpart ? { controparte: registration.counterpart } : {}),
      ...(registration.unchecked ? { unchecked: registration.unchecked } : {}),
      segnatura: read.segnatura,
      files: read.files
        .filter((f) => f.nomeFile !== FILE_NAMES.segnatura)
        .map((f) => ({ nomeFile: f.nomeFile, mimeType: f.mimeType, contenuto: f.content.toString('base64') })),
      messageId: message.id,
    });
    const ours = read.segnatura.destinatari.find(
      (d) =>
        d.soggetto.tipo === 'Amministrazione' && d.soggetto.codiceIPAAmministrazione.codice === this.ctx.options.aoo.codiceAmministrazione,
    );
    if (ours?.confermaRicezione && registration.state === 'REGISTRATA') {
      const xml = buildConfermaRicezioneXml({
        form: '2021',
        identificatore: registration.identificatore,
        messaggioRicevuto: { kind: 'identificatore', identificatore: read.segnatura.identificatore },
      });
      await this.reply(message, ACTIONS.conferma, FILE_NAMES.conferma, xml);
      await this.register.update(registration.identificatore, { state: 'CONFERMATA' });
    }
  }

  private reread(message: BusMessage): { segnatura: Segnatura; files: ProtocolloFile[] } {
    const files = readProtocolloFiles(message.payload);
    return { segnatura: readSegnatura(files.find((f) => f.nomeFile === FILE_NAMES.segnatura)!.content).segnatura, files };
  }

  /** ConfermaRicezione, NotificaEccezione, AnnullamentoProtocollazione from the other AOO. */
  private async receiveAnswer(message: BusMessage): Promise<void> {
    const files = readProtocolloFiles(message.payload);
    const file = files.find((f) => ([FILE_NAMES.conferma, FILE_NAMES.eccezione, FILE_NAMES.annullamento] as string[]).includes(f.nomeFile));
    if (!file)
      throw AdapterError.refused(
        '000_Irricevibile',
        `a ${message.action ?? ''} message must carry ${FILE_NAMES.conferma}, ${FILE_NAMES.eccezione} or ${FILE_NAMES.annullamento}`,
      );
    let read;
    try {
      read = readProtocolloMessage(file.content);
    } catch (err) {
      throw AdapterError.refused(err instanceof ProtocolloError ? err.code : '000_Irricevibile', (err as Error).message, err);
    }
    const ours = async (id: Identificatore | undefined) =>
      id && id.codiceAOO === this.ctx.options.aoo.codiceAOO
        ? this.register.byNumber(id.dataRegistrazione.slice(0, 4), id.numeroRegistrazione)
        : undefined;
    let event: ProtocolloEvent;
    if (read.kind === 'conferma') {
      const ricevuto = read.conferma.messaggioRicevuto;
      const reg = await ours(ricevuto.kind === 'identificatore' ? ricevuto.identificatore : undefined);
      const updated = reg
        ? await this.register.update(reg.identificatore, { state: 'CONFERMATA', counterpart: read.conferma.identificatore })
        : undefined;
      event = {
        evento: 'conferma',
        controparte: read.conferma.identificatore,
        ...(updated ? { registrazione: updated } : {}),
        messageId: message.id,
      };
    } else if (read.kind === 'eccezione') {
      const ricevuto = read.eccezione.messaggioRicevuto;
      const reg = await ours(ricevuto.kind === 'identificatore' ? ricevuto.identificatore : undefined);
      const updated = reg
        ? await this.register.update(reg.identificatore, { state: 'ECCEZIONE', anomalia: read.eccezione.motivo })
        : undefined;
      event = {
        evento: 'eccezione',
        anomalia: read.eccezione.motivo,
        ...(updated ? { registrazione: updated } : {}),
        messageId: message.id,
      };
    } else if (read.kind === 'annullamento') {
      const reg = await this.register.byCounterpart(read.annullamento.identificatore);
      const updated = reg ? await this.register.update(reg.identificatore, { state: 'ANNULLATA' }) : undefined;
      event = {
        evento: 'annullamento',
        controparte: read.annullamento.identificatore,
        ...(updated ? { registrazione: updated } : {}),
        messageId: message.id,
      };
    } else {
      throw AdapterError.refused('000_Irricevibile', `${file.nomeFile} holds a ${read.kind}, not a ${message.action ?? ''}`);
    }
    const relayed =
      read.kind === 'conferma' || read.kind === 'eccezione'
        ? await this.relay?.forwardAnswer(
            read.kind === 'conferma' ? { kind: 'conferma', conferma: read.conferma } : { kind: 'eccezione', eccezione: read.eccezione },
          )
        : false;
    if (!event.registrazione && !relayed)
      this.ctx.log.warn({ id: message.id, evento: event.evento }, 'protocol answer about no registration of this AOO');
    await this.notifyBackOffice(event);
  }

  private async reply(to: BusMessage, action: string, nomeFile: string, xml: string): Promise<void> {
    if (to.from.startsWith(PEC_PARTY_PREFIX)) {
      await this.sendByPec(to.from.slice(PEC_PARTY_PREFIX.length), action, [xmlMessageFile(nomeFile, xml)]);
      return;
    }
    await this.ctx.bus.send({
      to: to.from,
      service: this.ctx.options.service,
      action,
      refId: to.id,
      payload: writeProtocolloFiles([xmlMessageFile(nomeFile, xml)]),
    });
  }

  private async notifyBackOffice(event: ProtocolloEvent): Promise<void> {
    const url = this.ctx.options.backOffice?.url;
    if (!url) return;
    let status: number;
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      status = res.statusCode;
      // The back office's answer is not used: drained within a bound, never buffered whole.
      await discardBoundedBody(res.body, {
        maxBytes: 64 * 1024,
        source: `protocol back office at ${url}`,
        declaredLength: res.headers['content-length'],
      });
    } catch (cause) {
      throw AdapterError.unavailable(`protocol back office at ${url} could not be reached: ${(cause as Error).message}`, cause);
    }
    if (status >= 500 || status === 429) throw AdapterError.unavailable(`protocol back office answered HTTP ${status}`);
    if (status >= 400)
      throw AdapterError.refused('TRAMITE_ERR_ADAPTER_REFUSED', `protocol back office refused the ${event.evento} event: HTTP ${status}`);
  }
}
