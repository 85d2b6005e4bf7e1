import { ProtocolloError } from '../../src/core/errors.js';
import type { AdapterContext, BusMessage } from '../sdk/index.js';
import { checkImpronte } from './impronta.js';
import type { ProtocolloOptions } from './protocollo-options.js';
import type { RelayLog } from './register/relay-log.js';
import type { ConfermaRicezione, NotificaEccezione, Segnatura } from './segnatura/segnatura-model.js';
import { anomaliaOf, buildConfermaRicezioneXml, buildNotificaEccezioneXml, formatMotivo } from './segnatura/protocollo-messages.js';
import { readSegnatura } from './segnatura/segnatura-reader.js';
import { ProtocolloSoapClient } from './soap/protocollo-soap-client.js';
import {
  ANOMALIE_CONFERMA,
  type AnnullamentoInoltroResponse,
  type AnomaliaConferma,
  type ConfermaMessaggioInoltroRequest,
  type ConfermaMessaggioInoltroResponse,
  type MessaggioInoltroRequest,
  type MessaggioInoltroResponse,
  type ProtocolloSoapHandlers,
} from './soap/protocollo-soap-contract.js';
import { ProtocolloSoapServer } from './soap/protocollo-soap-server.js';
import { FILE_NAMES, writeProtocolloFiles, xmlMessageFile, type ProtocolloFile } from './transport/protocollo-files.js';

/** What the relay needs of the AOO: the checks every Segnatura passes, whichever way it travels. */
export interface SegnaturaChecks {
  checkSegnatura(bytes: Buffer, segnatura: Segnatura, sealer: string): Promise<void>;
}

type SoapOptions = NonNullable<ProtocolloOptions['soap']>;

/**
 * The AOO's own protocol system speaking the AgID SOAP interfaces, with the bus in between:
 * - it sends: it calls this adapter's destinatario interface (MessaggioInoltro) with the Segnatura it
 *   registered and sealed; the adapter checks seal and digests, finds the receiving AOO's party in the
 *   directory and sends the document through the bus;
 * - it receives: a document from the bus is handed to its destinatario interface (MessaggioInoltro as
 *   client); its answer — ConfermaMessaggioInoltro on this adapter's mittente interface — travels back
 *   as ConfermaRicezione or NotificaEccezione;
 * - answers from the bus to documents it sent go to its mittente interface (ConfermaMessaggioInoltro).
 * The protocol system keeps the register; the adapter's own register is not used for these documents.
 */
export class ProtocolloSoapRelay implements ProtocolloSoapHandlers {
  private readonly client = new ProtocolloSoapClient();
  private server: ProtocolloSoapServer | undefined;

  constructor(
    private readonly ctx: AdapterContext<ProtocolloOptions>,
    private readonly soap: SoapOptions,
    private readonly checks: SegnaturaChecks,
    /** Its own: closed by `stop`. */
    private readonly log: RelayLog,
  ) {}

  /** Whether documents from the bus go to the protocol system (its destinatario endpoint is configured). */
  get deliversInbound(): boolean {
    return this.soap.destinatarioUrl !== undefined;
  }

  get endpoints(): Record<'destinatario' | 'mittente', string> | undefined {
    return this.server?.endpoints;
  }

  async start(): Promise<void> {
    if (!this.soap.listen || this.server) return;
    const server = new ProtocolloSoapServer(this, { host: this.soap.listen.host, port: this.soap.listen.port, log: this.ctx.log });
    await server.start();
    this.server = server;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
    await this.log.close();
  }

  // ------------------------------------------------------------------------------------------------
  // The protocol system → the bus

  /** MessaggioInoltro from the protocol system: checked, routed by the directory, sent through the bus. */
  async onMessaggioInoltro(req: MessaggioInoltroRequest): Promise<MessaggioInoltroResponse> {
    const segnatura = readSegnatura(req.segnatura).segnatura;
    try {
      await this.checks.checkSegnatura(req.segnatura, segnatura, this.ctx.party);
      checkImpronte(segnatura, req.files, this.ctx.options.withoutImpronta ?? 'accept');
    } catch (err) {
      if (err instanceof ProtocolloError && err.code === '001_ValidazioneFirma')
        return { identificatoreMittente: segnatura.identificatore, anomalia: { code: '001_ValidazioneFirma', info: err.message } };
      if (err instanceof ProtocolloError && err.code === '002_AnomaliaImpronta')
        return { identificatoreMittente: segnatura.identificatore, anomalia: { code: '002_AnomaliaImpronte', info: err.message } };
      throw err;
    }
    const party = this.route(segnatura);
    const sent = await this.ctx.bus.send({
      to: party,
      service: this.ctx.options.service,
      action: 'MessaggioInoltro',
      payload: writeProtocolloFiles([
        { nomeFile: FILE_NAMES.segnatura, mimeType: 'application/xml', content: req.segnatura },
        ...req.files,
      ]),
    });
    await this.log.record({ direction: 'out', messageId: sent.id, identificatore: segnatura.identificatore, party });
    this.ctx.log.info(
      { numero: segnatura.identificatore.numeroRegistrazione, to: party, id: sent.id },
      'document from the protocol system sent through the bus',
    );
    return { identificatoreMittente: segnatura.identificatore };
  }

  /** ConfermaMessaggioInoltro from the protocol system about a document it received: back to the sender. */
  async onConfermaMessaggioInoltro(req: ConfermaMessaggioInoltroRequest): Promise<ConfermaMessaggioInoltroResponse> {
    const received = await this.log.byRegistration('in', req.identificatoreMittente);
    if (!received)
      throw new ProtocolloError(
        '007_ErroreIdentificatoreNonTrovato',
        `no document ${req.identificatoreMittente.numeroRegistrazione} of ${req.identificatoreMittente.codiceAOO} came through this node`,
      );
    const [action, nomeFile, xml] = req.identificatoreDestinatario
      ? ([
          'ConfermaRicezione',
          FILE_NAMES.conferma,
          buildConfermaRicezioneXml({
            form: '2021',
            identificatore: req.identificatoreDestinatario,
            messaggioRicevuto: { kind: 'identificatore', identificatore: req.identificatoreMittente },
          }),
        ] as const)
      : ([
          'NotificaEccezione',
          FILE_NAMES.eccezione,
          buildNotificaEccezioneXml({
            form: '2021',
            messaggioRicevuto: { kind: 'identificatore', identificatore: req.identificatoreMittente },
            motivo: formatMotivo(anomaliaOf(req.anomalia!.code) ?? '000_Irricevibile', req.anomalia!.info),
          }),
        ] as const);
    await this.ctx.bus.send({
      to: received.party,
      service: this.ctx.options.service,
      action,
      refId: received.messageId,
      payload: writeProtocolloFiles([xmlMessageFile(nomeFile, xml)]),
    });
    return { identificatoreMittente: req.identificatoreMittente };
  }

  onAnnullamentoInoltroMittente(): Promise<AnnullamentoInoltroResponse> {
    return Promise.reject(
      new ProtocolloError(
        '000_Irricevibile',
        'cancellations are not relayed over the SOAP interface: use POST /protocollo/annullamenti of the adapter',
      ),
    );
  }

  onAnnullamentoInoltroDestinatario(): Promise<AnnullamentoInoltroResponse> {
    return this.onAnnullamentoInoltroMittente();
  }

  // ------------------------------------------------------------------------------------------------
  // The bus → the protocol system

  /**
   * A checked document from the bus, handed to the protocol system's destinatario interface, once per
   * bus message. Returns the anomaly it reported, for the NotificaEccezione the AOO sends back.
   */
  async deliverInoltro(
    message: BusMessage,
    segnaturaBytes: Buffer,
    segnatura: Segnatura,
    files: readonly ProtocolloFile[],
  ): Promise<ProtocolloError | undefined> {
    if (await this.log.byMessage('in', message.id)) return undefined;
    const response = await this.client.messaggioInoltro(this.soap.destinatarioUrl!, {
      segnatura: segnaturaBytes,
      files: files.filter((f) => f.nomeFile !== FILE_NAMES.segnatura),
    });
    await this.log.record({ direction: 'in', messageId: message.id, identificatore: segnatura.identificatore, party: message.from });
    if (!response.anomalia) return undefined;
    return new ProtocolloError(
      anomaliaOf(response.anomalia.code) ?? '000_Irricevibile',
      response.anomalia.info ?? `the protocol system reported ${response.anomalia.code}`,
    );
  }

  /** A ConfermaRicezione or NotificaEccezione about a document the protocol system sent: to its mittente interface. */
  async forwardAnswer(
    answer: { kind: 'conferma'; conferma: ConfermaRicezione } | { kind: 'eccezione'; eccezione: NotificaEccezione },
  ): Promise<boolean> {
    if (!this.soap.mittenteUrl) return false;
    const ricevuto = answer.kind === 'conferma' ? answer.conferma.messaggioRicevuto : answer.eccezione.messaggioRicevuto;
    if (ricevuto.kind !== 'identificatore' || !(await this.log.byRegistration('out', ricevuto.identificatore))) return false;
    const request: ConfermaMessaggioInoltroRequest =
      answer.kind === 'conferma'
        ? { identificatoreMittente: ricevuto.identificatore, identificatoreDestinatario: answer.conferma.identificatore }
        : {
            identificatoreMittente: ricevuto.identificatore,
            anomalia: { code: conferma(answer.eccezione.motivo), info: answer.eccezione.motivo },
          };
    await this.client.confermaMessaggioInoltro(this.soap.mittenteUrl, request);
    return true;
  }

  /** The party of the receiving AOO: the first Destinatario (not per conoscenza) the directory knows. */
  private route(s: Segnatura): string {
    for (const d of s.destinatari) {
      if (d.perConoscenza || d.soggetto.tipo !== 'Amministrazione') continue;
      const amm = d.soggetto;
      const hit = this.soap.directory.find(
        (e) =>
          e.codiceAmministrazione === amm.codiceIPAAmministrazione.codice && (!amm.codiceIPAAOO || e.codiceAOO === amm.codiceIPAAOO.codice),
      );
      if (hit) return hit.party;
    }
    throw new ProtocolloError('000_Irricevibile', 'no Destinatario of the Segnatura is an AOO in the directory (options.soap.directory)');
  }
}

/** The Anomalia a ConfermaMessaggioInoltro can carry for a NotificaEccezione's Motivo (its enumeration has no 001/002/007). */
function conferma(motivo: string): AnomaliaConferma {
  const number = anomaliaOf(motivo)?.slice(0, 3);
  return ANOMALIE_CONFERMA.find((c) => c.startsWith(`${number}_`)) ?? '000_Irricevibile';
}
